// text-generation: GenerateInput → GenerateOutput, streaming GenerateChunk deltas
// through `emit` while tokens are produced. Greedy unless doSample or a temperature
// > 0 is given; `stop` strings cut the text and end generation.

import { random, type PreTrainedModel, type Tensor, type TextStreamer } from '@huggingface/transformers';
import type { GenerateChunk, GenerateInput, GenerateOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { chatPrompt, hasChatTemplate, readMessages } from './chat-prompt.js';
import { GenerationStream } from './generation-stream.js';
import type { TaskRunner, TextModel } from './task.js';

export const DEFAULT_MAX_NEW_TOKENS = 64;

interface Sampling {
  maxNewTokens: number;
  doSample: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop: string[];
}

function readSampling(input: GenerateInput): Sampling {
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

/** End-of-sequence ids from generation_config.json / config.json. */
function eosIds(model: PreTrainedModel, fallback: number | undefined): Set<bigint> {
  const configs = [(model as { generation_config?: { eos_token_id?: unknown } }).generation_config, model.config as { eos_token_id?: unknown }];
  const ids = new Set<bigint>();
  for (const c of configs) {
    const eos = c?.eos_token_id;
    for (const id of Array.isArray(eos) ? eos : [eos]) if (typeof id === 'number') ids.add(BigInt(id));
  }
  if (ids.size === 0 && fallback !== undefined && fallback !== null) ids.add(BigInt(fallback));
  return ids;
}

/**
 * transformers.js samples from one process-wide generator (`random`), and a worker
 * runs several requests at once: sampled generations take turns, each seeding it
 * first (from its seed, else from entropy so no one inherits another's seed).
 */
let samplingTurn: Promise<unknown> = Promise.resolve();
function withSamplerSeeded<T>(seed: number | undefined, generate: () => Promise<T>): Promise<T> {
  const turn = samplingTurn.then(() => {
    random.seed(seed);
    return generate();
  });
  samplingTurn = turn.catch(() => undefined);
  return turn;
}

export function textGeneration(m: TextModel): TaskRunner {
  const { model, tokenizer } = m;
  const eos = eosIds(model, tokenizer.eos_token_id);
  return async (rawInput, emit): Promise<GenerateOutput> => {
    if (typeof rawInput !== 'object' || rawInput === null) throw new InvalidInputError('text-generation: input must be an object { prompt } or { messages }');
    const input = rawInput as GenerateInput;
    const sampling = readSampling(input);

    let prompt: string;
    let addSpecialTokens: boolean;
    if (input.messages !== undefined) {
      prompt = chatPrompt(tokenizer, readMessages(input.messages));
      addSpecialTokens = !hasChatTemplate(tokenizer) && Boolean(tokenizer.add_bos_token || tokenizer.add_eos_token);
    } else if (typeof input.prompt === 'string') {
      prompt = input.prompt;
      // Like transformers.js's pipeline: special tokens only if the tokenizer asks for them.
      addSpecialTokens = Boolean(tokenizer.add_bos_token || tokenizer.add_eos_token);
    } else {
      throw new InvalidInputError('text-generation: input needs a prompt (string) or messages');
    }

    const encoded = tokenizer(prompt, { add_special_tokens: addSpecialTokens });
    const promptTokens = encoded.input_ids.dims.at(-1) ?? 0;
    if (promptTokens === 0) throw new InvalidInputError('text-generation: the prompt is empty');

    const stream = new GenerationStream(tokenizer, sampling.stop, emit as ((chunk: GenerateChunk) => void) | undefined);
    const generate = () => model.generate({
      ...encoded,
      max_new_tokens: sampling.maxNewTokens,
      do_sample: sampling.doSample,
      ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
      ...(sampling.topP !== undefined ? { top_p: sampling.topP } : {}),
      ...(sampling.topK !== undefined ? { top_k: sampling.topK } : {}),
      // generate() only calls put()/end(); its typings ask for a TextStreamer.
      streamer: stream as unknown as TextStreamer,
      stopping_criteria: stream.criteria,
    });
    // Greedy decoding draws no random numbers: it needs no turn.
    const sequences = (await (sampling.doSample ? withSamplerSeeded(sampling.seed, generate) : generate())) as Tensor;

    const ids = (sequences.data as BigInt64Array).subarray(promptTokens);
    const completionTokens = ids.length;
    const text = stream.finish();
    const endedOnEos = completionTokens > 0 && eos.has(ids[completionTokens - 1]!);
    const finishReason = stream.stoppedByString || endedOnEos || completionTokens < sampling.maxNewTokens ? 'stop' : 'length';
    // TGI's order: the token budget first, then end-of-sequence, then a stop string; ending any
    // other way (the model's own max length) is a length stop too.
    const stopReason = completionTokens >= sampling.maxNewTokens ? 'length' : endedOnEos ? 'eos_token' : stream.stoppedByString ? 'stop_sequence' : 'length';
    return { text, promptTokens, completionTokens, finishReason, stopReason };
  };
}
