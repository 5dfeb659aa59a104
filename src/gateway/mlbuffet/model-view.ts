import type { InferenceService } from '../../inference/index.js';
import type { ModelRecord } from '../../repository/index.js';

/** The public description of a model, as GET /api/v1/models/<name> shows it. */
export function modelView(model: ModelRecord, inference: InferenceService) {
  const batching = inference.batchingOf(model);
  return {
    model: model.name,
    description: model.description,
    version: model.version,
    format: model.format,
    size_bytes: model.sizeBytes,
    sha256: model.sha256,
    inputs: model.inputs,
    outputs: model.outputs,
    dynamic_batching: { max_batch_size: batching.maxBatchSize, max_queue_delay_microseconds: batching.maxQueueDelayMicroseconds },
    /** Limit on one inference request, in ms: the model's own, corral.json's, or CORRAL_REQUEST_TIMEOUT_MS. */
    timeout_ms: inference.timeoutOf(model.name),
    created_at: model.createdAt,
    updated_at: model.updatedAt,
  };
}
