import { CorralError } from '../errors/index.js';
import type { TensorMap, TensorSpec } from '../runtimes/tensor.js';
import type { ModelRecord } from '../repository/model-record.js';

const fmt = (shape: readonly number[]) => `[${shape.join(',')}]`;

/**
 * Checks request tensors against the model's signature before they reach a
 * worker, so a wrong name, dtype or shape is a 400 naming the problem, and
 * the batcher only ever stacks tensors that fit together.
 */
export function validateInputs(model: ModelRecord, inputs: TensorMap, outputs: readonly string[] | undefined): void {
  const expected = new Map(model.inputs.map((s) => [s.name, s]));
  for (const name of Object.keys(inputs)) {
    if (!expected.has(name)) {
      throw new CorralError('INVALID_INPUT', `Model '${model.name}' has no input '${name}'; its inputs are: ${describe(model.inputs)}.`);
    }
  }
  let batch: number | undefined;
  for (const spec of model.inputs) {
    const tensor = inputs[spec.name];
    if (!tensor) throw new CorralError('INVALID_INPUT', `Missing input '${spec.name}' (${spec.datatype} ${fmt(spec.shape)}).`);
    if (tensor.datatype !== spec.datatype) {
      throw new CorralError('INVALID_INPUT', `Input '${spec.name}' must be ${spec.datatype}, got ${tensor.datatype}.`);
    }
    if (tensor.shape.length !== spec.shape.length) {
      throw new CorralError('INVALID_INPUT', `Input '${spec.name}' must have ${spec.shape.length} dimensions ${fmt(spec.shape)}, got ${fmt(tensor.shape)}.`);
    }
    spec.shape.forEach((dim, i) => {
      const got = tensor.shape[i]!;
      if (!Number.isInteger(got) || got < 0 || (dim !== -1 && got !== dim)) {
        throw new CorralError('INVALID_INPUT', `Input '${spec.name}' must have shape ${fmt(spec.shape)} (-1 = any size), got ${fmt(tensor.shape)}.`);
      }
    });
    if (spec.shape[0] === -1) {
      if (batch !== undefined && tensor.shape[0] !== batch) {
        throw new CorralError('INVALID_INPUT', `All inputs must have the same batch size; '${spec.name}' has ${tensor.shape[0]}, another input has ${batch}.`);
      }
      batch = tensor.shape[0];
    }
  }
  if (batch === 0) throw new CorralError('INVALID_INPUT', 'The batch is empty: send at least one sample.');
  for (const name of outputs ?? []) {
    if (!model.outputs.some((o) => o.name === name)) {
      throw new CorralError('INVALID_INPUT', `Model '${model.name}' has no output '${name}'; its outputs are: ${describe(model.outputs)}.`);
    }
  }
}

export const describe = (specs: readonly TensorSpec[]) => specs.map((s) => `${s.name} ${s.datatype} ${fmt(s.shape)}`).join(', ');
