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
}

/** How a run ended: the script's exit (error null when it succeeded), or stopped by stop(). */
export type TrainingOutcome =
  | { kind: 'exited'; exitCode: number | null; error: string | null }
  | { kind: 'stopped' };

export interface TrainingHandle {
  done: Promise<TrainingOutcome>;
  /** Ends the run now (timeout, cancel, gateway closing): every process it started. */
  stop(): void;
}

/**
 * Runs training scripts on one kind of profile. LocalTrainer runs them on
 * this machine; a Slurm trainer would submit a batch job and follow it the
 * same way (its outcome and log through the same TrainingRun), while the
 * manager keeps the queue, the states, the time limit and the registration.
 */
export interface Trainer {
  start(run: TrainingRun): TrainingHandle;
}
