export { DynamicBatcher, type BatcherOptions } from './dynamic-batcher.js';
export { tensorCodec, tensorCodecFor, type BatchCodec } from './batch-codec.js';
export { batchKey, batchedOutputs, concatBatch, splitBatch, rowsOf } from './tensor-batch.js';
export { textListCodec } from './text-list-codec.js';
