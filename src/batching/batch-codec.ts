import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap, TensorSpec } from '../runtimes/tensor.js';
import { batchedOutputs, batchKey, concatBatch, rowsOf, splitBatch } from './tensor-batch.js';

/**
 * How a runtime's requests join into one batch and split back. The batcher is
 * generic over it: tensors here, lists of sentences for text runtimes later.
 */
export interface BatchCodec<I, O> {
  rows(input: I): number;
  /** Requests with different keys never share a batch. */
  key(input: I): string;
  /**
   * Whether `candidate` may join a batch of `members` (all with its key); absent = always.
   * Padded batching uses it to keep lengths within the padding bound.
   */
  fits?(members: readonly I[], candidate: I): boolean;
  concat(inputs: I[]): I;
  /** `inputs` are the members' inputs, in the order given to concat (the batcher always passes them). */
  split(output: O, rows: number[], inputs?: readonly I[]): O[];
  /**
   * Codecs whose batches stream (text generation): which members a chunk of the
   * batch's stream is for, and for each either its own chunk or, once the member
   * has ended, its output. Without it, a streamed request runs alone.
   */
  routeChunk?(data: unknown): RoutedChunk<O>[];
}

export type RoutedChunk<O> = { member: number; chunk: unknown } | { member: number; output: O };

/**
 * Tensor batching for a model with this output signature (the repository's
 * ModelRecord.outputs): outputs declared with a batch dimension (first dim -1)
 * are split by rows, every other output goes whole to each request.
 */
export function tensorCodecFor(outputs: readonly TensorSpec[]): BatchCodec<OnnxRequest, TensorMap> {
  const batched = batchedOutputs(outputs);
  return {
    rows: (input) => rowsOf(input.inputs),
    key: (input) => batchKey(input.inputs, input.outputs),
    concat: (inputs) => ({ inputs: concatBatch(inputs.map((i) => i.inputs)), outputs: inputs[0]!.outputs }),
    split: (output, rows) => splitBatch(output, rows, batched),
  };
}

let unbatched = 0;

/**
 * Tensor requests of a target without a recorded signature. Nothing says which
 * outputs have a batch dimension, and splitting by sizes would hand requests
 * the wrong tensors, so its requests never share a batch (each key is unique).
 */
export const tensorCodec: BatchCodec<OnnxRequest, TensorMap> = {
  rows: (input) => rowsOf(input.inputs),
  key: () => `unbatched:${++unbatched}`,
  concat: () => { throw new Error('tensor requests without a signature are never batched'); },
  split: (output) => [output],
};
