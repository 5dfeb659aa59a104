// How a text-generation request decodes (GenerateInput's sampling fields, checked).
// Free of transformers.js, so the gateway's batch codec can read it too.

import { InvalidInputError } from '../input-error.js';
import type { GenerateInput } from '../task-io.js';

export const DEFAULT_MAX_NEW_TOKENS = 64;

export interface Sampling {
  maxNewTokens: number;
  doSample: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop: string[];
}

/** The request's sampling settings; InvalidInputError when one is malformed. */
export function readSampling(input: GenerateInput): Sampling {
  const { maxNewTokens = DEFAULT_MAX_NEW_TOKENS, temperature, topP, topK, doSample, stop = [], seed } = input;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new InvalidInputError('text-generation: maxNewTokens must be a positive integer');
  if (temperature !== undefined && (typeof temperature !== 'number' || !(temperature >= 0))) {
    throw new InvalidInputError('text-generation: temperature must be a number >= 0');
  }
  if (topP !== undefined && (typeof topP !== 'number' || !(topP > 0 && topP <= 1))) throw new InvalidInputError('text-generation: topP must be in (0, 1]');
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new InvalidInputError('text-generation: topK must be a positive integer');
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new InvalidInputError('text-generation: seed must be a non-negative integer');
  if (doSample !== undefined && typeof doSample !== 'boolean') throw new InvalidInputError('text-generation: doSample must be a boolean');
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string' && s !== '')) {
    throw new InvalidInputError('text-generation: stop must be an array of non-empty strings');
  }
  const sampling: Sampling = { maxNewTokens, doSample: doSample ?? (temperature !== undefined && temperature > 0), stop };
  if (temperature !== undefined && temperature > 0) sampling.temperature = temperature;
  if (topP !== undefined) sampling.topP = topP;
  if (topK !== undefined) sampling.topK = topK;
  if (seed !== undefined) sampling.seed = seed;
  return sampling;
}
