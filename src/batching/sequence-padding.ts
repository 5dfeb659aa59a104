import { CorralError } from '../errors/index.js';
import { allocate, elementCount, type Tensor, type TensorMap } from '../runtimes/tensor.js';
import type { PaddingPlan } from './padding-plan.js';

type NumericData = Exclude<Tensor['data'], string[]>;

/**
 * The tensor with `axis` cut or extended to `size`: the leading `min(old, size)`
 * entries along it are kept, new ones hold `fill`. Padding on the right and
 * trimming back are the same copy.
 *
 * @example
 * resizeAxis({ datatype: 'INT64', shape: [1, 2], data: BigInt64Array.of(5n, 6n) }, 1, 4, 0).data // [5n, 6n, 0n, 0n]
 */
export function resizeAxis(tensor: Tensor, axis: number, size: number, fill: number): Tensor {
  const old = tensor.shape[axis]!;
  if (old === size) return tensor;
  const shape = tensor.shape.map((d, i) => (i === axis ? size : d));
  const src = tensor.data as NumericData;
  const data = allocate(tensor.datatype, elementCount(shape)) as NumericData;
  const inner = elementCount(tensor.shape.slice(axis + 1));
  const outer = elementCount(tensor.shape.slice(0, axis));
  const kept = Math.min(old, size) * inner;
  for (let o = 0; o < outer; o++) {
    const from = o * old * inner;
    const to = o * size * inner;
    data.set(src.subarray(from, from + kept) as never, to);
    if (size > old && fill !== 0) {
      data.fill((data instanceof BigInt64Array || data instanceof BigUint64Array ? BigInt(fill) : fill) as never, to + kept, to + size * inner);
    }
  }
  return { datatype: tensor.datatype, shape, data };
}

/**
 * A request's sequence length: axis 1 of its padded inputs, which must agree,
 * with a mask of 0s and 1s only (anything else would be padded into a
 * different meaning). Either fault is INVALID_INPUT (400).
 */
export function sequenceLength(plan: PaddingPlan, inputs: TensorMap): number {
  let length: number | undefined;
  let first = '';
  for (const name of plan.inputs.keys()) {
    const t = inputs[name];
    if (!t) continue;
    const n = t.shape[1]!;
    if (length === undefined) [length, first] = [n, name];
    else if (n !== length) {
      throw new CorralError('INVALID_INPUT', `Inputs '${first}' and '${name}' must have the same sequence length (axis 1); got ${length} and ${n}.`);
    }
  }
  const mask = inputs[plan.mask];
  if (mask) {
    const data = mask.data as NumericData;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      // eslint-disable-next-line eqeqeq -- 0n == 0 and 1n == 1: one test for every number type
      if (v != 0 && v != 1) throw new CorralError('INVALID_INPUT', `Input '${plan.mask}' is an attention mask and may hold only 0 and 1; element ${i} is ${String(v)}.`);
    }
  }
  return length ?? 0;
}

/** The request's padded inputs extended on the right to `length`; the others as they are. */
export function padInputs(plan: PaddingPlan, inputs: TensorMap, length: number): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(inputs)) {
    const fill = plan.inputs.get(name);
    out[name] = fill === undefined ? t : resizeAxis(t, 1, length, fill);
  }
  return out;
}

/**
 * Checks a padded batch's outputs carry the padded length on every sequence
 * axis. One that does not cannot be trimmed back per request:
 * INFERENCE_REJECTED, so the batcher runs the members alone.
 */
export function assertPaddedOutputs(plan: PaddingPlan, outputs: TensorMap, padded: number): void {
  for (const [name, t] of Object.entries(outputs)) {
    for (const axis of plan.outputAxes.get(name) ?? []) {
      if (t.shape[axis] !== padded) {
        throw new CorralError('INFERENCE_REJECTED', `Output '${name}' has shape [${t.shape.join(',')}], not the padded length ${padded} on axis ${axis}; its requests run alone.`);
      }
    }
  }
}

/** One request's share of a padded batch's outputs, cut back to its own `length` along every sequence axis. */
export function trimOutputs(plan: PaddingPlan, outputs: TensorMap, length: number): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(outputs)) {
    out[name] = (plan.outputAxes.get(name) ?? []).reduce((trimmed, axis) => resizeAxis(trimmed, axis, length, 0), t);
  }
  return out;
}
