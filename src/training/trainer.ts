import type { TrainingFiles, TrainingOptions } from './training-job.js';

/** One job as a trainer sees it: what to run, and where its log and state go. */
export interface TrainingRun {
  id: string;
  tag: string;
  /** The file the script must write in CORRAL_OUTPUT_DIR. */
  outputFile: string;
  options: TrainingOptions;
  memoryBytes: number | null;
  files: TrainingFiles;
  /** Output of the job's processes, as it comes. */
  output(stream: 'stdout' | 'stderr', text: string): void;
  /** One line of Corral's own in the job's log ("[corral] ..."). */
  note(line: string): void;
  /** The job moved on (installing its requirements, running the script). */
  enter(state: 'installing' | 'running'): Promise<void>;
  /** A cluster job's upload token (the gateway keeps only its hash); undefined for local runs. */
  uploadToken?: string;
  /** The gateway's URL as cluster jobs reach it (asked when needed: it is known once the server listens). */
  gatewayUrl(): string;
  /** Records where a cluster run is (its Slurm job, how much of its log was copied), so a restarted gateway can re-attach. */
  checkpoint(state: { slurmJobId?: string; logOffset?: number }): Promise<void>;
}

/** How a run ended: the script's exit (error null when it succeeded), or stopped by stop(). */
export type TrainingOutcome =
  | { kind: 'exited'; exitCode: number | null; error: string | null }
  | { kind: 'stopped' }
  /** The scheduler ended it at its time limit (a Slurm TIMEOUT). */
  | { kind: 'timeout'; error: string };

export interface TrainingHandle {
  done: Promise<TrainingOutcome>;
  /** Ends the run now (timeout, cancel, gateway closing): every process it started. */
  stop(): void;
  /** Stops following a run that goes on without this gateway (a Slurm job); done then resolves as stopped. */
  detach?(): void;
}

/**
 * Runs training scripts on one kind of profile. LocalTrainer runs them on
 * this machine; SlurmTrainer submits a batch job and follows it the same way
 * (its outcome and log through the same TrainingRun), while the manager keeps
 * the queue, the states, the time limit and the registration.
 */
export interface Trainer {
  /** Whether its runs take a slot of this gateway (CORRAL_TRAIN_CONCURRENCY); a cluster's scheduler queues its own. */
  readonly local: boolean;
  start(run: TrainingRun): TrainingHandle;
  /** Follows a run a previous gateway started (Slurm); absent where runs end with the gateway. */
  attach?(run: TrainingRun, state: { slurmJobId: string; logOffset: number }): TrainingHandle;
}
