import type { BatchingConfig } from '../../config/config.js';
import type { ServiceRecord } from '../../services/index.js';

/** A service as the REST API and CLI show it. */
export function serviceView(service: ServiceRecord, defaults: BatchingConfig) {
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
    created_at: service.createdAt,
    updated_at: service.updatedAt,
  };
}
