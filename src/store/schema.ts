
/** Table types for Kysely. Columns are portable SQL types so PostgreSQL can host the same schema. */
export interface ModelsTable {
  name: string;
  version: number;
  /** Path of the model file, relative to CORRAL_HOME/models. */
  file_path: string;
  format: string;
  description: string;
  size_bytes: number;
  sha256: string;
  inputs_json: string;
  outputs_json: string;
  /** NULL = the server default. */
  max_batch_size: number | null;
  max_queue_delay_us: number | null;
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
}

export interface RegistryModelsTable {
  profile: string;
  /** 'org/name' for hub snapshots, the model name for repository models. */
  model: string;
  revision: string;
  path: string;
  size_bytes: number;
  /** Where it was found: 'cache' (shared, read-only), 'home' (the user's), 'repository' (ONNX). */
  source: string;
  discovered_at: string;
}

export interface Database {
  models: ModelsTable;
  services: ServicesTable;
  registry_models: RegistryModelsTable;
}
