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

export type ServiceStatus = 'SUBMITTED' | 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED' | 'TIMEOUT' | 'SLEEPING' | 'PREEMPTED';

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
  /** From the snapshot's model card or config.json; null when it serves none Corral runs, or does not say. */
  task: string | null;
}

/** A profile as /api/profiles shows it: every profiles.cfg key, null where unset. */
export interface Profile {
  name: string;
  type: 'local' | 'slurm' | 'gce' | 'ec2' | 'command';
  host: string | null;
  user: string | null;
  port: number | null;
  identity_file: string | null;
  home_dir: string | null;
  cache_dir: string | null;
  partition: string | null;
  time_limit: string | null;
  gpus: number | null;
  memory: string | null;
  cpus: number | null;
}

/** The keys a profile can be created or patched with (POST/PATCH /api/profiles). */
export type ProfileField = Exclude<keyof Profile, 'name'>;

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
  /** Limit on one inference request, in ms. */
  timeout_ms?: number;
  sha256?: string;
  created_at: string;
  updated_at: string;
}

/** GET/PATCH /api/v1/models/<name>/config (inside MLBuffet's envelope). */
export interface ModelConfig {
  dynamic_batching: { max_batch_size: number; max_queue_delay_microseconds: number };
  timeout_ms: number;
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

// The server's own view types, so the UI cannot drift from them (type-only: nothing is bundled).
export type { JobState, JobView as Job } from '../jobs/job';
import type { JobView as Job } from '../jobs/job';

export interface Snapshot {
  services: Service[];
  models: Model[];
  workers: Worker[];
  jobs: Job[];
}

// GET /api/keys: the server's own key view (never the secret); POST adds `key`, once.
import type { keyView } from '../auth/api-key';
export type ApiKeyView = ReturnType<typeof keyView>;
export type { Scope as ServerScope } from '../auth/scopes';

export type { ModelSeries, SeriesView } from '../metrics/series-view';
