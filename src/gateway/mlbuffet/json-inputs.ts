import { CorralError } from '../../errors/index.js';
import { valuesToTensor } from '../../preprocessing/index.js';
import type { ModelRecord } from '../../repository/index.js';
import type { TensorMap } from '../../runtimes/index.js';

/**
 * MLBuffet's JSON prediction body for an ONNX model: {"values": [...]} for a
 * model with one input (one sample or a list of samples), or {"inputs":
 * {"<input>": [...]}} naming each. Neural Energy's /run takes the same fields.
 * `otherForms` names any further form the caller's route accepts.
 */
export function jsonInputs(body: unknown, model: ModelRecord, otherForms = ''): TensorMap {
  const { values, inputs } = (body ?? {}) as { values?: unknown; inputs?: Record<string, unknown> };
  if (inputs !== undefined) {
    const map: TensorMap = {};
    for (const [name, v] of Object.entries(inputs)) {
      const spec = model.inputs.find((s) => s.name === name);
      if (!spec) throw new CorralError('INVALID_INPUT', `Model '${model.name}' has no input '${name}'.`);
      map[name] = valuesToTensor(v, spec);
    }
    return map;
  }
  if (values === undefined) {
    throw new CorralError('BAD_REQUEST', `Send JSON {"values": [...]} (one sample or a list of samples) or {"inputs": {"<input>": [...]}}${otherForms} for model '${model.name}'.`);
  }
  if (model.inputs.length !== 1) {
    throw new CorralError('INVALID_INPUT', `Model '${model.name}' has ${model.inputs.length} inputs; send {"inputs": {"<name>": [...]}} naming each.`);
  }
  return { [model.inputs[0]!.name]: valuesToTensor(values, model.inputs[0]!) };
}
