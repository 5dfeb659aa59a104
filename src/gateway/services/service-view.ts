import type { BatchingConfig } from '../../config/config.js';
import type { ServiceRecord } from '../../services/index.js';

/**
 * A service as the REST API and CLI show it. `live`: what the runner knows
 * beyond the stored record (the last request, even if not written yet; the
 * requests held while it wakes).
 */
export function serviceView(service: ServiceRecord, defaults: BatchingConfig, live?: { lastRequestAt: string | null; heldRequests: number }) {
  const batching = { ...defaults, ...service.batching };
  return {
    id: service.id,
    name: service.name,
    runtime: service.runtime,
    task: service.task,
    model: service.model,
    model_path: service.modelPath,
    revision: service.revision,
    replicas: service.replicas,
    profile: service.profile,
    status: service.status,
    reason: service.reason,
    job_id: service.jobId,
    endpoint: service.endpoint,
    options: service.options,
    dynamic_batching: { max_batch_size: batching.maxBatchSize, max_queue_delay_microseconds: batching.maxQueueDelayMicroseconds },
    idle_minutes: service.idleMinutes ?? null,
    wake_on_request: service.wakeOnRequest ?? false,
    wake_max_queued: service.wakeMaxQueued ?? null,
    wake_timeout_s: service.wakeTimeoutS ?? null,
    last_request_at: live?.lastRequestAt ?? service.lastRequestAt ?? null,
    sleeping_since: service.sleepingSince ?? null,
    held_requests: live?.heldRequests ?? 0,
    created_at: service.createdAt,
    updated_at: service.updatedAt,
  };
}
