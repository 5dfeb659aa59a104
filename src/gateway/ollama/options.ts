import { Type, type Static } from 'typebox';
import { CorralError } from '../../errors/index.js';
import type { GenerateInput } from '../../runtimes/task-io.js';

/**
 * The `options` Corral's runtime honours. Ollama's others (num_ctx,
 * repeat_penalty, mirostat, ...) are accepted and ignored, as Ollama ignores
 * options a model does not use.
 */
export const OllamaOptions = Type.Object({
  temperature: Type.Optional(Type.Number({ minimum: 0 })),
  top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  top_k: Type.Optional(Type.Integer()),
  num_predict: Type.Optional(Type.Integer({ minimum: -2 })),
  stop: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { maxItems: 16 })])),
  seed: Type.Optional(Type.Integer()),
});
export type OllamaOptions = Static<typeof OllamaOptions>;

/**
 * Ollama options → the runtime's generation settings. Unlike Ollama (0.8),
 * an unset temperature is greedy decoding, as on Corral's other APIs.
 */
export function generationOptions(o: OllamaOptions = {}): Omit<GenerateInput, 'prompt' | 'messages'> {
  if (o.num_predict === 0) throw new CorralError('BAD_REQUEST', 'options.num_predict must be at least 1 (or -1 for the service\'s default length)');
  const sampled = o.temperature !== undefined && o.temperature > 0;
  const out: Omit<GenerateInput, 'prompt' | 'messages'> = { doSample: sampled };
  if (sampled) out.temperature = o.temperature;
  if (o.top_p !== undefined) out.topP = o.top_p;
  // Ollama: top_k <= 0 turns it off; num_predict -1 (no limit) and -2 (fill the context) mean the service's default.
  if (o.top_k !== undefined && o.top_k > 0) out.topK = o.top_k;
  if (o.num_predict !== undefined && o.num_predict > 0) out.maxNewTokens = o.num_predict;
  if (o.stop !== undefined) out.stop = typeof o.stop === 'string' ? [o.stop] : o.stop;
  // Ollama's seed -1 (its default) is a random one.
  if (o.seed !== undefined && o.seed >= 0) out.seed = o.seed;
  return out;
}
