
/**
 * Table types for Kysely. Columns are portable SQL types so PostgreSQL can host the same schema:
 * times are ISO strings, JSON is text, flags are 1/0 integers (what the code reads on both engines).
 * A bigint comes back from PostgreSQL as a string (pg keeps 64 bits exact): read it with Number().
 */
export interface ModelsTable {
  name: string;
  version: number;
  /** Path of the model file, relative to CORRAL_HOME/models. */
  file_path: string;
  format: string;
  description: string;
  /** bigint: a string from PostgreSQL. */
  size_bytes: number | string;
  sha256: string;
  inputs_json: string;
  outputs_json: string;
  /** NULL = the server default. */
  max_batch_size: number | null;
  max_queue_delay_us: number | null;
  /** Limit on one inference request in ms; NULL = corral.json, then CORRAL_REQUEST_TIMEOUT_MS. */
  timeout_ms: number | null;
  /** Symbolic dim names per input/output, JSON; NULL for models uploaded before they were recorded. */
  dim_names_json?: string | null;
  /** The `padding` setting as JSON (an object or false); NULL = automatic. */
  padding_json?: string | null;
  created_at: string;
  updated_at: string;
}

export interface ServicesTable {
  id: string;
  name: string;
  runtime: string;
  task: string;
  /** Local path, Hugging Face cache snapshot, hub id, or repository model name. */
  model: string;
  /** Where the runtime loads it from: a resolved local path or a hub id. */
  model_path: string;
  /** Hugging Face revision pinned when the service was created. */
  revision: string | null;
  options_json: string;
  replicas: number;
  max_batch_size: number | null;
  max_queue_delay_us: number | null;
  profile: string;
  status: string;
  job_id: string | null;
  endpoint: string | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
  /** SHA-256 of the token a cluster job registers with (the token itself reaches only the job). */
  token_hash: string | null;
  /** What the gateway presents to the job's `corral host`: derived from the token, not the token. */
  host_credential: string | null;
  /** Scale-to-zero (0006): minutes without a request in flight before the service sleeps; NULL never. */
  idle_minutes: number | null;
  /** 1/0; NULL: on when idle_minutes is set. */
  wake_on_request: number | null;
  wake_max_queued: number | null;
  wake_timeout_s: number | null;
  last_request_at: string | null;
  sleeping_since: string | null;
  /** Restarts after box preemptions since the service last ran steadily. */
  restarts: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  hash_kind: 'sha256' | 'scrypt';
  secret_hash: string;
  lookup_hint: string;
  scopes_json: string;
  /** NULL = every model; else a JSON list of name globs. */
  models_json: string | null;
  rate_limit_json: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AuditLogTable {
  id: string;
  at: string;
  action: string;
  key_id: string | null;
  key_name: string | null;
  ip: string | null;
  target: string | null;
  detail_json: string | null;
}

export interface RegistryModelsTable {
  profile: string;
  /** 'org/name' for hub snapshots, the model name for repository models. */
  model: string;
  revision: string;
  path: string;
  /** bigint: a string from PostgreSQL. */
  size_bytes: number | string;
  /** Where it was found: 'cache' (shared, read-only), 'home' (the user's), 'repository' (ONNX). */
  source: string;
  discovered_at: string;
  /** The task it serves (a Corral task name), or NULL when none or unknown. */
  task: string | null;
}

/** Training jobs (0007); their files and logs are under CORRAL_HOME/training/jobs/<id>/. */
export interface TrainingJobsTable {
  id: string;
  /** The repository name the output is registered as. */
  tag: string;
  /** The file the script writes in CORRAL_OUTPUT_DIR (".onnx" added when missing). */
  model_name: string;
  state: string;
  profile: string;
  /** {timeout_minutes, memory, cpus, gpus} as asked for. */
  options_json: string;
  requirements_sha256: string | null;
  /** 1/0. */
  has_dataset: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  error: string | null;
  model_version: number | null;
  /** SHA-256 of a Slurm job's upload token (0008); NULL for local jobs. */
  token_hash?: string | null;
  /** The Slurm batch job, once submitted (0008). */
  slurm_job_id?: string | null;
  /** Bytes of the job's log on the cluster already copied to the gateway's log (0008). */
  log_offset?: number | null;
}

export interface Database {
  models: ModelsTable;
  services: ServicesTable;
  registry_models: RegistryModelsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  training_jobs: TrainingJobsTable;
}
