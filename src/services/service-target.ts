import { tensorCodec, textListCodec, type BatchCodec } from '../batching/index.js';
import type { BatchingConfig } from '../config/config.js';
import type { ExecutionTarget } from '../inference/index.js';
import type { ServiceRecord } from './service-record.js';
import { TASKS } from './tasks.js';

/** Requests that never share a run (images, generation prompts). */
const singleCodec: BatchCodec<unknown, unknown> = {
  rows: () => 1,
  key: () => '',
  concat: () => { throw new Error('single requests are never batched'); },
  split: (output) => [output],
};

/**
 * What a created service runs as: its runtime and model path, its task
 * options, and batching that depends on how the task batches.
 */
export function serviceTarget(service: ServiceRecord, defaults: BatchingConfig): ExecutionTarget<unknown, unknown> {
  const kind = TASKS[service.task].batch;
  const codec = (kind === 'text-list' ? textListCodec : kind === 'tensor' ? tensorCodec : singleCodec) as BatchCodec<unknown, unknown>;
  const batching: BatchingConfig = { ...defaults, ...service.batching };
  if (kind === 'single') batching.maxBatchSize = 1;
  return {
    // The update time is part of the key: a changed service is a new model to the workers.
    // A model without a pinned revision (a plain directory) passes none: runtimes reject null.
    ref: { key: `service:${service.id}@${service.updatedAt}`, name: service.name, runtime: service.runtime, path: service.modelPath, options: { ...service.options, task: service.task, ...(service.revision ? { revision: service.revision } : {}) } },
    label: service.name,
    codec,
    batching: () => batching,
    // Replicas: how many workers may hold the model and run it at once.
    capacity: () => Math.max(1, service.replicas),
  };
}
