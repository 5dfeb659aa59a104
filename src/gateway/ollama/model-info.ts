import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxWeightsSize } from '../../runtimes/transformers/model-size.js';
import type { TransformersDtype } from '../../runtimes/transformers/options.js';
import type { ServiceRecord } from '../../services/index.js';
import { withTag } from './model-ref.js';

/** A JSON file of the service's model directory, if it has one (a hub id not yet downloaded has none). */
function modelJson(service: ServiceRecord, file: string): Record<string, unknown> | undefined {
  const path = join(service.modelPath, file);
  if (service.runtime !== 'transformers' || !existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const dtypeOf = (s: ServiceRecord) => (typeof s.options.dtype === 'string' ? s.options.dtype : 'fp32');

/** Bytes of the weights a worker loads (built-in runtimes have no model file: 0). */
export const modelSize = (s: ServiceRecord) => (s.runtime === 'transformers' ? onnxWeightsSize(s.modelPath, dtypeOf(s) as TransformersDtype) : 0);

/** Ollama's `details`: family from config.json's model_type (the runtime's name for built-ins). */
export function modelDetails(s: ServiceRecord) {
  const family = String(modelJson(s, 'config.json')?.model_type ?? s.runtime);
  return {
    parent_model: '',
    format: s.runtime === 'transformers' ? 'onnx' : s.runtime,
    family,
    families: [family],
    parameter_size: '',
    quantization_level: s.runtime === 'transformers' ? dtypeOf(s) : '',
  };
}

/** Stands in for Ollama's manifest digest: changes when the service's model or revision does. */
const digest = (s: ServiceRecord) => createHash('sha256').update(`${s.id}\n${s.modelPath}\n${s.revision ?? ''}`).digest('hex');

/** One entry of GET /api/tags (and, with what is loaded, of GET /api/ps). */
export function tagEntry(s: ServiceRecord) {
  return { name: withTag(s.name), model: withTag(s.name), modified_at: s.createdAt, size: modelSize(s), digest: digest(s), details: modelDetails(s) };
}

/** The context length config.json gives, if any. */
export function contextLength(s: ServiceRecord): number | undefined {
  const config = modelJson(s, 'config.json');
  const n = config?.n_positions ?? config?.max_position_embeddings ?? config?.n_ctx;
  return typeof n === 'number' ? n : undefined;
}

/** POST /api/show: what Ollama's clients read (details, model_info, capabilities, template). */
export function showModel(s: ServiceRecord) {
  const config = modelJson(s, 'config.json') ?? {};
  const details = modelDetails(s);
  const arch = details.family;
  const info: Record<string, unknown> = { 'general.architecture': arch, 'general.basename': s.name };
  const context = contextLength(s);
  if (context !== undefined) info[`${arch}.context_length`] = context;
  const width = config.n_embd ?? config.hidden_size;
  if (typeof width === 'number') info[`${arch}.embedding_length`] = width;
  const template = modelJson(s, 'tokenizer_config.json')?.chat_template;
  return {
    license: '',
    modelfile: `# Corral service '${s.name}' (${s.task}, runtime ${s.runtime})\nFROM ${s.model}\n`,
    parameters: '',
    template: typeof template === 'string' ? template : '',
    details,
    model_info: info,
    capabilities: s.task === 'text-generation' ? ['completion'] : ['embedding'],
    modified_at: s.createdAt,
  };
}
