/** The gateway's JSON, as the routes in src/gateway show it (only the fields the UI reads). */
export type Scope = 'read' | 'infer' | 'models:write' | 'services:operate' | 'services:write' | 'metrics' | 'admin';

export interface Who {
  name: string;
  scopes: Scope[];
  models: string[] | null;
}

export interface SessionView {
  auth: 'on' | 'off';
  principal: Who | null;
}

export type ServiceStatus = 'SUBMITTED' | 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED' | 'TIMEOUT';

export interface Service {
  id: string;
  name: string;
  runtime: string;
  task: string;
  model: string;
  profile: string;
  status: ServiceStatus;
  reason: string | null;
  replicas: number;
  model_path?: string;
  revision?: string | null;
  job_id?: string | null;
  endpoint?: string | null;
  options?: Record<string, unknown>;
  dynamic_batching?: { max_batch_size: number; max_queue_delay_microseconds: number };
  created_at: string;
  updated_at: string;
}

/** GET /models?profile=: what a profile can serve without downloading. */
export interface RegistryEntry {
  model: string;
  revision: string;
  profile: string;
  path: string;
  size_bytes: number;
  source: 'cache' | 'home' | 'repository';
}

export interface Profile {
  name: string;
  type: 'local' | 'slurm';
  home_dir: string | null;
  cache_dir: string | null;
  [key: string]: unknown;
}

/** One line of GET /api/services/<id>/logs. */
export interface LogLine {
  t: number;
  stream: string;
  text: string;
}

export interface TensorSpec {
  name: string;
  datatype: string;
  shape: number[];
}

export interface Model {
  model: string;
  description: string | null;
  version: number;
  format: string;
  size_bytes: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  dynamic_batching: { max_batch_size: number; max_queue_delay_microseconds: number };
  created_at: string;
  updated_at: string;
}

export interface Worker {
  id: string;
  pid: number | undefined;
  state: 'starting' | 'ready' | 'exited';
  outstanding: number;
  rssBytes: number;
  loadedModels: string[];
  restarts: number;
  host?: string;
  lastSeen?: string;
}

export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  service: string;
  state: JobState;
  progress: number;
  error?: string;
  status_code?: number;
  attempts: number;
  created_at: string;
  started_at?: string;
  finished_at?: string;
}

export interface Snapshot {
  services: Service[];
  models: Model[];
  workers: Worker[];
  jobs: Job[];
}

export interface ModelSeries {
  p50_ms: Array<number | null>;
  p99_ms: Array<number | null>;
  rps: Array<number | null>;
  errors: Array<number | null>;
  queue_depth: Array<number | null>;
  batch_size: Array<number | null>;
}

export interface SeriesView {
  window: '15m' | '1h';
  step_ms: number;
  t: number[];
  series: Record<string, ModelSeries>;
}
