import { CorralError } from '../errors/index.js';
import { elementCount, type Tensor, type TensorSpec } from '../runtimes/tensor.js';
import { flatten, tensorFromJson } from '../runtimes/tensor-json.js';

/** The dimensions of a rectangular nested JSON array, or a 400 when it is ragged. */
export function nestedShape(values: unknown, name: string): number[] {
  const shape: number[] = [];
  let level: unknown = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const check = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw ragged();
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) throw ragged();
    for (const child of node) check(child, depth + 1);
  };
  const ragged = () => new CorralError('INVALID_INPUT', `'${name}' is a ragged nested list; every row must have the same length.`);
  check(values, 0);
  return shape;
}

/**
 * Turns MLBuffet-style `values` (one sample or a batch, flat or nested) into a
 * tensor for the given input: a nested list of the model's rank is taken as is,
 * one rank less is one sample, and a flat list is split into samples when the
 * sample size is fixed.
 */
export function valuesToTensor(values: unknown, spec: TensorSpec): Tensor {
  if (!Array.isArray(values) || values.length === 0) {
    throw new CorralError('INVALID_INPUT', `"values" must be a non-empty list of numbers (one sample) or of samples, for input '${spec.name}' ${spec.datatype} [${spec.shape.join(',')}].`);
  }
  const shape = nestedShape(values, 'values');
  const rank = spec.shape.length;
  if (shape.length === rank) return tensorFromJson(spec.name, spec.datatype, shape, values);
  const inner = spec.shape.slice(1);
  const isOneSample = shape.length === inner.length && shape.every((d, i) => inner[i] === -1 || d === inner[i]);
  // One sample: a list shaped like one sample, or nesting one rank short (the shape check then
  // names any size mismatch). Only a flat list is split into samples; nested data is never reshaped.
  if (isOneSample || (shape.length === rank - 1 && shape.length > 1)) {
    return tensorFromJson(spec.name, spec.datatype, [1, ...shape], values);
  }
  const sample = elementCount(inner);
  const flat = flatten(values);
  if (shape.length === 1 && inner.every((d) => d > 0) && flat.length % sample === 0) {
    return tensorFromJson(spec.name, spec.datatype, [flat.length / sample, ...inner], flat);
  }
  throw new CorralError('INVALID_INPUT', `Input '${spec.name}' expects shape [${spec.shape.join(',')}] (-1 = any size); got ${flat.length} values shaped [${shape.join(',')}].`);
}
