import type { BatchingConfig } from '../config/config.js';
import type { ServicesTable } from '../store/schema.js';
import type { Task } from './tasks.js';

/** Blackfish's lifecycle states; transitions come from what the backend reports. */
export const SERVICE_STATES = ['SUBMITTED', 'STARTING', 'RUNNING', 'STOPPED', 'FAILED', 'TIMEOUT'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export interface ServiceRecord {
  id: string;
  name: string;
  runtime: string;
  task: Task;
  /** What the user asked for (path, hub id, repository model name). */
  model: string;
  modelPath: string;
  revision: string | null;
  options: Record<string, unknown>;
  replicas: number;
  batching: Partial<BatchingConfig>;
  profile: string;
  status: ServiceState;
  jobId: string | null;
  endpoint: string | null;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  /** SHA-256 of the token a cluster job registers with; null for local services. */
  tokenHash?: string | null;
  /** What this gateway presents to the job's host (derived from the token, not the token). */
  hostCredential?: string | null;
  /** True for services derived from the ONNX repository rather than created. */
  fromRepository?: boolean;
}

export function serviceFromRow(row: ServicesTable): ServiceRecord {
  const batching: Partial<BatchingConfig> = {};
  if (row.max_batch_size !== null) batching.maxBatchSize = row.max_batch_size;
  if (row.max_queue_delay_us !== null) batching.maxQueueDelayMicroseconds = row.max_queue_delay_us;
  return {
    id: row.id, name: row.name, runtime: row.runtime, task: row.task as Task, model: row.model,
    modelPath: row.model_path, revision: row.revision,
    options: JSON.parse(row.options_json) as Record<string, unknown>,
    replicas: row.replicas, batching, profile: row.profile, status: row.status as ServiceState,
    jobId: row.job_id, endpoint: row.endpoint, reason: row.reason,
    createdAt: row.created_at, updatedAt: row.updated_at,
    tokenHash: row.token_hash ?? null, hostCredential: row.host_credential ?? null,
  };
}
