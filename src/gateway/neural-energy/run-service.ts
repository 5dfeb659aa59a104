import { Type, type Static, type TSchema } from 'typebox';
import { CorralError } from '../../errors/index.js';
import { jsonInputs } from '../mlbuffet/json-inputs.js';
import { modelRef, type ModelRecord } from '../../repository/index.js';
import { nest, tensorDataToJson } from '../../runtimes/index.js';
import { ocrOptions } from '../ocr-options.js';
import type { EmbeddingResult, GenerateOutput, Keyterm, OcrOutput, TextListOutput } from '../../runtimes/task-io.js';
import type { ServiceRecord } from '../../services/index.js';
import { serviceTarget } from '../../services/service-target.js';
import type { Corral } from '../corral.js';
import { checkInstructions, checkTexts } from '../text-inputs.js';
import type { RequestTrace } from '../../tracing/index.js';

/** The fields of a /run request besides SIGNATURE. */
export type RunInput = Record<string, unknown>;

// Known fields are checked; others are ignored, as Neural Energy's servers ignore what they do not read.
const TextFields = Type.Object({
  instruction: Type.Optional(Type.Unknown()),
  top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  candidate_labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100 })),
  multi_label: Type.Optional(Type.Boolean()),
  hypothesis_template: Type.Optional(Type.String({ pattern: '\\{\\}' })),
});
const GenerateFields = Type.Object({ max_new_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32768 })) });

async function checked<T extends TSchema>(schema: T, input: RunInput): Promise<Static<T>> {
  // Loaded on first use: TypeBox's value checker costs ~6 MB a gateway that never sees /run keeps.
  const { Value } = await import('typebox/value');
  const [first] = Value.Errors(schema, input);
  if (first) throw new CorralError('INVALID_INPUT', `"${first.instancePath.slice(1).replaceAll('/', '.')}" ${first.message}.`);
  return input as Static<T>;
}

/** The texts of a request: `sentences` (Laminoid), else `text` or `INPUT_VALUE` (Neural Energy), else `inputs`; one string is a list of one. */
function textsOf(input: RunInput): string[] {
  const field = ['sentences', 'text', 'INPUT_VALUE', 'inputs'].find((f) => input[f] !== undefined);
  if (!field) throw new CorralError('INVALID_INPUT', 'Send the text in "sentences" (a list), "text" or "INPUT_VALUE".');
  return checkTexts(input[field], field, true);
}

function promptOf(input: RunInput): string {
  const field = ['text', 'INPUT_VALUE', 'prompt', 'inputs'].find((f) => input[f] !== undefined);
  const prompt = field && input[field];
  if (typeof prompt !== 'string') throw new CorralError('INVALID_INPUT', 'Send the prompt as a string in "text", "INPUT_VALUE" or "prompt".');
  return prompt;
}

/**
 * Runs a /run request on its service and answers what the service's own route
 * answers (/embed, /keyterms, /ocr, /api/services/<id>/predict as {results},
 * MLBuffet's prediction without its envelope), each with `model`.
 */
export async function runService(corral: Corral, service: ServiceRecord, input: RunInput, trace?: RequestTrace): Promise<Record<string, unknown>> {
  const { runner } = corral;
  const model = service.name;
  switch (service.task) {
    case 'tensor':
      return runTensor(corral, corral.repository.get(service.name), input, trace);
    case 'text-generation': {
      const { max_new_tokens: maxNewTokens } = await checked(GenerateFields, input);
      const out = await runner.run<GenerateOutput>(service, { prompt: promptOf(input), maxNewTokens }, undefined, trace);
      return { generated_text: out.text, finish_reason: out.finishReason, model };
    }
    case 'ocr': {
      if (typeof input.image !== 'string' || input.image === '') throw new CorralError('BAD_REQUEST', 'Send the image as {"image": "<base64>"}.');
      const base64 = input.image.replace(/^data:[^;]+;base64,/, '');
      if (!/^[A-Za-z0-9+/=\s]+$/.test(base64)) throw new CorralError('INVALID_IMAGE', '"image" is not valid base64.');
      const out = await runner.run<OcrOutput>(service, { image: Buffer.from(base64, 'base64'), ...ocrOptions(input) }, undefined, trace);
      return { text: out.lines.map((l) => l.text).join('\n'), lines: out.lines, model };
    }
    default:
      break;
  }
  const fields = await checked(TextFields, input);
  const texts = textsOf(input);
  if (service.task === 'feature-extraction') {
    const out = await runner.run<TextListOutput<EmbeddingResult>>(service, { texts, instructions: checkInstructions(fields.instruction, texts.length) }, undefined, trace);
    return { embeddings: out.results.map((r) => Array.from(r.embedding)), model };
  }
  if (service.task === 'keyterms') {
    const out = await runner.run<TextListOutput<Keyterm[]>>(service, { texts, options: { top: fields.top ?? 5 } }, undefined, trace);
    return { keyterms: out.results.map((terms) => terms.map((t) => t.term)), scores: out.results.map((terms) => terms.map((t) => t.score)), model };
  }
  if (service.task === 'zero-shot-classification' && !fields.candidate_labels) {
    throw new CorralError('INVALID_INPUT', 'zero-shot-classification needs "candidate_labels", e.g. ["sports", "politics"].');
  }
  const options = { topK: fields.top_k, labels: fields.candidate_labels, multiLabel: fields.multi_label, hypothesisTemplate: fields.hypothesis_template, top: fields.top };
  const out = await runner.run<TextListOutput<unknown>>(service, { texts, options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }, undefined, trace);
  return { results: out.results, model };
}

/** An uploaded ONNX model: MLBuffet's {"values": [...]} or {"inputs": {"<input>": [...]}}. */
async function runTensor(corral: Corral, model: ModelRecord, input: RunInput, trace?: RequestTrace): Promise<Record<string, unknown>> {
  // Text fields of other tasks share the name "inputs"; only an object names tensors.
  const body = typeof input.inputs === 'object' && input.inputs !== null && !Array.isArray(input.inputs) ? input : { values: input.values };
  const outputs = await corral.inference.infer(model, { inputs: jsonInputs(body, model) }, trace);
  const [first] = model.outputs.map((o) => outputs[o.name]).filter((t) => t !== undefined);
  const all = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, nest(tensorDataToJson(t), t.shape)]));
  return { values: first ? nest(tensorDataToJson(first), first.shape) : [], outputs: all, model: model.name };
}

/** The key a service's model is cached under in the workers (which worker holds it). */
export function modelKeyOf(corral: Corral, service: ServiceRecord): string {
  if (service.fromRepository) return modelRef(corral.repository.get(service.name)).key;
  return serviceTarget(service, corral.config.batching).ref.key;
}
