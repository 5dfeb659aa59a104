import { tensorCodec, textListCodec, type BatchCodec } from '../batching/index.js';
import { generationCodec } from '../batching/generation-codec.js';
import type { BatchingConfig } from '../config/config.js';
import type { ExecutionTarget } from '../inference/index.js';
import type { ServiceRecord } from './service-record.js';
import { TASKS } from './tasks.js';

/** Requests that never share a run (images). */
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
  const codecs = { 'text-list': textListCodec, tensor: tensorCodec, generation: generationCodec, single: singleCodec };
  const codec = codecs[kind] as BatchCodec<unknown, unknown>;
  const batching: BatchingConfig = { ...defaults, ...service.batching };
  if (kind === 'single') batching.maxBatchSize = 1;
  return {
    // The update time is part of the key: a changed service is a new model to the workers.
    // A model without a pinned revision (a plain directory) passes none: runtimes reject null.
    ref: { key: `service:${service.id}@${service.updatedAt}`, name: service.name, runtime: service.runtime, path: service.modelPath, options: { ...service.options, task: service.task, ...(service.revision ? { revision: service.revision } : {}) } },
    label: service.name,
    codec,
    batching: () => batching,
    // Replicas: how many workers may hold the model and run it at once; 0 (the built-in
    // services) leaves it to the dispatcher, one batch per worker.
    capacity: () => (service.replicas === 0 ? Infinity : service.replicas),
  };
}
