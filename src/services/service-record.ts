import type { BatchingConfig } from '../config/config.js';
import type { ServicesTable } from '../store/schema.js';
import type { Task } from './tasks.js';

/**
 * Blackfish's lifecycle states; transitions come from what the backend reports.
 * SLEEPING: stopped by Corral after idle_minutes, woken by the next request (STOPPED
 * means a person stopped it; it never wakes by itself). PREEMPTED: its box was
 * taken back by the cloud; Corral restarts it (up to the profile's max_restarts).
 */
export const SERVICE_STATES = ['SUBMITTED', 'STARTING', 'RUNNING', 'STOPPED', 'FAILED', 'TIMEOUT', 'SLEEPING', 'PREEMPTED'] as const;
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
  /** Worker processes that may hold the model at once; 0 means one per worker (the built-in services). */
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
  /** Scale-to-zero: minutes with nothing in flight before Corral stops it (SLEEPING); null never. */
  idleMinutes?: number | null;
  /** Whether a request to a SLEEPING, PREEMPTED or TIMEOUT service starts it (default: on when idleMinutes is set). */
  wakeOnRequest?: boolean;
  /** Requests held while it wakes, at most (null: the default); more get 429. */
  wakeMaxQueued?: number | null;
  /** How long held requests wait for it to wake, in seconds (null: the default); then 503. */
  wakeTimeoutS?: number | null;
  lastRequestAt?: string | null;
  sleepingSince?: string | null;
  /** Restarts after box preemptions since it last ran steadily. */
  restarts?: number;
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
    idleMinutes: row.idle_minutes ?? null,
    wakeOnRequest: row.wake_on_request === null || row.wake_on_request === undefined ? row.idle_minutes != null : row.wake_on_request === 1,
    wakeMaxQueued: row.wake_max_queued ?? null, wakeTimeoutS: row.wake_timeout_s ?? null,
    lastRequestAt: row.last_request_at ?? null, sleepingSince: row.sleeping_since ?? null, restarts: row.restarts ?? 0,
  };
}
