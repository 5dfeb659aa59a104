/**
 * Where a service runs. A launcher starts a service's host process somewhere
 * (this machine's worker pool, a Slurm job, a box), reports
 * the state the backend sees, and stops it. Transitions come from these
 * reports, never from timers.
 */
export type BackendState = 'SUBMITTED' | 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED' | 'TIMEOUT' | 'PREEMPTED';

export interface LaunchSpec {
  serviceId: string;
  serviceName: string;
  /** The command the job runs, e.g. ['corral', 'host', '--service', '<id>', '--gateway', 'http://...']. */
  command: string[];
  /** Extra environment for the job. */
  env: Record<string, string>;
}

export interface LaunchResult {
  jobId: string;
}

export interface JobReport {
  state: BackendState;
  /** Why the job failed or ended (scheduler reason, exit code), when known. */
  reason?: string;
  /** The node the job runs on, when known. */
  node?: string;
}

export interface Launcher {
  readonly type: string;
  launch(spec: LaunchSpec): Promise<LaunchResult>;
  status(jobId: string): Promise<JobReport>;
  stop(jobId: string): Promise<void>;
  /**
   * Reads a service's job output (the file the launcher named for it), from
   * byte `offset` on (negative: the last `maxBytes`), at most `maxBytes`.
   * `start` is where the text begins, `next` where to read on.
   */
  readLog?(serviceId: string, offset: number, maxBytes: number): Promise<{ start: number; next: number; text: string }>;
}
