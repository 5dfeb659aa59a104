import type { TrainingJobsTable } from '../store/schema.js';

/** queued → installing → running → validating → registered, or failed, timeout, cancelled. */
export const TRAINING_STATES = ['queued', 'installing', 'running', 'validating', 'registered', 'failed', 'timeout', 'cancelled'] as const;
export type TrainingState = (typeof TRAINING_STATES)[number];

/** States a job can still leave; a gateway that stops with a job in one of them fails it on its next start. */
export const ACTIVE_STATES: ReadonlySet<TrainingState> = new Set(['queued', 'installing', 'running', 'validating']);
export const isFinal = (state: TrainingState) => !ACTIVE_STATES.has(state);

/** What a training request asked for, beyond its files. */
export interface TrainingOptions {
  /** The job's time limit, installing included. */
  timeout_minutes: number;
  /** Memory limit as given (e.g. "512M"), or null for none. */
  memory: string | null;
  cpus: number | null;
  gpus: number | null;
}

/** A job as the API shows it (GET /api/v1/train/jobs/<id>). */
export interface TrainingJobView {
  id: string;
  tag: string;
  model_name: string;
  state: TrainingState;
  profile: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  error: string | null;
  model_version: number | null;
  timeout_minutes: number;
  memory: string | null;
  cpus: number | null;
  gpus: number | null;
}

export function jobView(row: TrainingJobsTable): TrainingJobView {
  const options = JSON.parse(row.options_json) as TrainingOptions;
  return {
    id: row.id, tag: row.tag, model_name: row.model_name, state: row.state as TrainingState, profile: row.profile,
    created_at: row.created_at, started_at: row.started_at, finished_at: row.finished_at,
    exit_code: row.exit_code, error: row.error, model_version: row.model_version,
    timeout_minutes: options.timeout_minutes, memory: options.memory, cpus: options.cpus, gpus: options.gpus,
  };
}

/** The files of one job, all inside its own directory: nothing here comes from a client's file name. */
export interface TrainingFiles {
  /** CORRAL_HOME/training/jobs/<id>. */
  dir: string;
  script: string;
  requirements: { path: string; sha256: string } | null;
  dataset: string | null;
  /** CORRAL_OUTPUT_DIR: the script's working directory. */
  outputDir: string;
  /** stdout and stderr as they came, with Corral's own lines ("[corral] ..."). */
  log: string;
}
