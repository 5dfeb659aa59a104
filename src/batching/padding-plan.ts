import { CorralError } from '../errors/index.js';
import type { TensorSpec } from '../runtimes/tensor.js';
import type { PaddingSetting } from './padding-setting.js';

/** What padding needs of a model: its signature and the symbolic name of each dim ('' = fixed or unnamed). */
export interface PaddableSignature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  dimNames: Readonly<Record<string, readonly string[]>>;
}

/**
 * How requests of different sequence lengths share a batch: the inputs padded
 * on the right along axis 1 (with their pad value), the mask among them, and,
 * per output, the axes carrying the sequence dim, trimmed back per request.
 */
export interface PaddingPlan {
  inputs: ReadonlyMap<string, number>;
  mask: string;
  outputAxes: ReadonlyMap<string, readonly number[]>;
}

const MASK = 'attention_mask';
const IDS = 'input_ids';

/**
 * The padding plan of a model, or undefined when its requests batch by exact
 * shape: the setting is `false`, or (automatic) it has no `attention_mask`
 * input whose axis 1 is a named dim. Automatic padding covers every input
 * whose axis 1 carries that same name; `input_ids` pads with 0 like the rest.
 * An explicit setting the signature cannot serve throws BAD_REQUEST.
 *
 * @example
 * planPadding(model, undefined)?.inputs // Map { 'input_ids' => 0, 'attention_mask' => 0 }
 */
export function planPadding(model: PaddableSignature, setting: PaddingSetting | undefined): PaddingPlan | undefined {
  if (setting === false) return undefined;
  const specs = new Map(model.inputs.map((s) => [s.name, s]));
  const sequenceName = (name: string): string => {
    const spec = specs.get(name);
    const named = model.dimNames[name]?.[1] ?? '';
    const numeric = spec !== undefined && spec.datatype !== 'BYTES';
    return numeric && spec.shape.length >= 2 && spec.shape[0] === -1 && spec.shape[1] === -1 ? named : '';
  };
  if (setting === undefined) {
    const seq = specs.has(MASK) ? sequenceName(MASK) : '';
    if (seq === '') return undefined;
    const names = model.inputs.filter((s) => sequenceName(s.name) === seq).map((s) => s.name);
    return plan(model, MASK, names.includes(IDS) ? [IDS, ...names.filter((n) => n !== IDS)] : names, 0, seq);
  }
  const names = setting.inputs.includes(setting.mask) ? setting.inputs : [...setting.inputs, setting.mask];
  if (Object.keys(model.dimNames).length === 0) {
    throw new CorralError('BAD_REQUEST', 'This model version was uploaded before Corral recorded symbolic dim names, which padding needs to find the sequence dim of its outputs; upload it again.');
  }
  const seq = sequenceName(setting.mask);
  for (const name of names) {
    if (!specs.has(name)) throw new CorralError('BAD_REQUEST', `Padding names input '${name}', which the model does not have; its inputs are: ${[...specs.keys()].join(', ')}.`);
    if (seq === '' || sequenceName(name) !== seq) {
      throw new CorralError('BAD_REQUEST',
        `Padding needs every listed input to be a number tensor [batch, seq, ...] whose seq dim has the mask's symbolic name; '${name}' ` +
        `(${specs.get(name)!.datatype} [${(model.dimNames[name] ?? specs.get(name)!.shape).join(',')}]) is not, with mask '${setting.mask}'.`);
    }
  }
  return plan(model, setting.mask, names, setting.pad_id ?? 0, seq);
}

/** `padId` pads the first listed input other than the mask; every other input pads with 0. */
function plan(model: PaddableSignature, mask: string, names: readonly string[], padId: number, seq: string): PaddingPlan {
  const idsInput = names.find((n) => n !== mask);
  const outputAxes = new Map<string, number[]>();
  // Only outputs split by rows are trimmed; any other output goes whole to every request.
  for (const out of model.outputs.filter((o) => o.shape[0] === -1)) {
    const axes = (model.dimNames[out.name] ?? []).flatMap((d, axis) => (axis > 0 && d === seq ? [axis] : []));
    if (axes.length > 0) outputAxes.set(out.name, axes);
  }
  return { inputs: new Map(names.map((n) => [n, n === idsInput ? padId : 0])), mask, outputAxes };
}

/**
 * The plan requests get: as planPadding, but a setting the signature cannot
 * serve (refused when set; a later upload may change the inputs under it)
 * gives exact-shape batching rather than failing every request.
 */
export function usablePadding(model: PaddableSignature, setting: PaddingSetting | undefined): PaddingPlan | undefined {
  try {
    return planPadding(model, setting);
  } catch {
    return undefined;
  }
}

/** The padding a model gets, as its config shows it: false, or the inputs, mask and pad id in use. */
export function effectivePadding(model: PaddableSignature, setting: PaddingSetting | undefined): PaddingSetting {
  const plan = usablePadding(model, setting);
  if (!plan) return false;
  const ids = [...plan.inputs].find(([name]) => name !== plan.mask);
  return { inputs: [...plan.inputs.keys()], mask: plan.mask, pad_id: ids?.[1] ?? 0 };
}
