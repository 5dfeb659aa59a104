import type { GenerateInput } from '../../runtimes/task-io.js';
import { CorralError } from '../../errors/index.js';

export interface SamplingFields {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
}

/** OpenAI sampling fields → the runtime's generation settings. */
export function generationParams(body: SamplingFields): Omit<GenerateInput, 'prompt' | 'messages'> {
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new CorralError('INVALID_INPUT', 'Only n=1 is supported.');
  const stop = body.stop === undefined || body.stop === null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  const temperature = body.temperature ?? undefined;
  return {
    maxNewTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature,
    topP: body.top_p ?? undefined,
    doSample: temperature !== undefined && temperature > 0,
    stop,
  };
}
