import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap, TensorSpec } from '../runtimes/tensor.js';
import type { BatchCodec } from './batch-codec.js';
import { withinPaddingBound } from './padding-bound.js';
import type { PaddingPlan } from './padding-plan.js';
import { assertPaddedOutputs, padInputs, sequenceLength, trimOutputs } from './sequence-padding.js';
import { batchedOutputs, batchKey, concatBatch, rowsOf, splitBatch } from './tensor-batch.js';

/**
 * Tensor batching for a token model (TEI-style): requests whose sequence
 * lengths differ share a batch, padded on the right to the longest of it, and
 * each gets its outputs back trimmed to its own length. The key ignores the
 * sequence length; `fits` keeps a batch's lengths within the padding bound.
 * The key also checks each request (lengths agree, mask is 0/1): 400 if not.
 */
export function paddedCodecFor(plan: PaddingPlan, outputs: readonly TensorSpec[]): BatchCodec<OnnxRequest, TensorMap> {
  const batched = batchedOutputs(outputs);
  // Checked once per request (the mask scan is O(tokens)), read again by fits/concat/split.
  const lengths = new WeakMap<TensorMap, number>();
  const lengthOf = (request: OnnxRequest): number => {
    let n = lengths.get(request.inputs);
    if (n === undefined) lengths.set(request.inputs, (n = sequenceLength(plan, request.inputs)));
    return n;
  };
  const longest = (requests: readonly OnnxRequest[]) => Math.max(...requests.map(lengthOf));
  return {
    rows: (input) => rowsOf(input.inputs),
    key: (input) => {
      lengthOf(input);
      const shapes: TensorMap = {};
      for (const [name, t] of Object.entries(input.inputs)) {
        shapes[name] = plan.inputs.has(name) ? { ...t, shape: t.shape.map((d, i) => (i === 1 ? -1 : d)) } : t;
      }
      return `padded:${batchKey(shapes, input.outputs)}`;
    },
    fits: (members, candidate) => {
      const all = [...members, candidate].map(lengthOf);
      return withinPaddingBound(Math.min(...all), Math.max(...all));
    },
    concat: (inputs) => {
      const length = longest(inputs);
      return { inputs: concatBatch(inputs.map((i) => padInputs(plan, i.inputs, length))), outputs: inputs[0]!.outputs };
    },
    split: (output, rows, inputs) => {
      if (!inputs) throw new Error('a padded batch is split by its members\' lengths: pass their inputs');
      assertPaddedOutputs(plan, output, longest(inputs));
      return splitBatch(output, rows, batched).map((part, i) => trimOutputs(plan, part, lengthOf(inputs[i]!)));
    },
  };
}
