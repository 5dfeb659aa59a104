export { DynamicBatcher, type BatcherOptions } from './dynamic-batcher.js';
export { tensorCodec, type BatchCodec } from './batch-codec.js';
export { batchKey, concatBatch, splitBatch, rowsOf } from './tensor-batch.js';
export { textListCodec } from './text-list-codec.js';
