import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import { batchKey, concatBatch, rowsOf, splitBatch } from './tensor-batch.js';

/**
 * How a runtime's requests join into one batch and split back. The batcher is
 * generic over it: tensors here, lists of sentences for text runtimes later.
 */
export interface BatchCodec<I, O> {
  rows(input: I): number;
  /** Requests with different keys never share a batch. */
  key(input: I): string;
  concat(inputs: I[]): I;
  split(output: O, rows: number[]): O[];
}

export const tensorCodec: BatchCodec<OnnxRequest, TensorMap> = {
  rows: (input) => rowsOf(input.inputs),
  key: (input) => batchKey(input.inputs, input.outputs),
  concat: (inputs) => ({ inputs: concatBatch(inputs.map((i) => i.inputs)), outputs: inputs[0]!.outputs }),
  split: (output, rows) => splitBatch(output, rows),
};
