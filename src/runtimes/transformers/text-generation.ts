// text-generation: GenerateInput → GenerateOutput, streaming GenerateChunk deltas
// through `emit` while tokens are produced. Greedy unless doSample or a temperature
// > 0 is given; `stop` strings cut the text and end generation.
//
// A batch of greedy requests (GenerateBatchInput → GenerateBatchOutput) runs as one
// generate() call over left-padded prompts. Each step emits one GenerateBatchChunk:
// the members' deltas tagged with their index, and the output of each member that
// ended at that step, so its stream can end while the others go on.

import { random, type PreTrainedModel, type PreTrainedTokenizer, type TextStreamer } from '@huggingface/transformers';
import type { GenerateBatchChunk, GenerateBatchInput, GenerateBatchOutput, GenerateChunk, GenerateInput, GenerateOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { BatchStreamer, type RowEnd } from './batch-streamer.js';
import { chatPrompt, hasChatTemplate, readMessages } from './chat-prompt.js';
import { GenerationStream } from './generation-stream.js';
import { leftPadded } from './left-padding.js';
import { readSampling, type Sampling } from './sampling.js';
import type { TaskRunner, TextModel } from './task.js';

export { DEFAULT_MAX_NEW_TOKENS } from './sampling.js';

/** A request ready to generate: its prompt's token ids and how it decodes. */
interface Prepared {
  promptIds: bigint[];
  sampling: Sampling;
}

type Emit = (chunk: GenerateChunk) => void;

/** End-of-sequence ids from generation_config.json / config.json (else `fallback`). */
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
 * Whether the model's generation config has logits processors that read a row's
 * whole length or every token in it (repetition penalty, n-gram bans, min_length,
 * a forced EOS at max_length, bad words): pad tokens would change what they do, so
 * such a model runs a batch's members one after another instead of padded together.
 */
function paddingChangesDecoding(model: PreTrainedModel): boolean {
  const c = { ...(model.config as object), ...((model as { generation_config?: object }).generation_config ?? {}) } as Record<string, unknown>;
  const set = (v: unknown) => v !== undefined && v !== null;
  return (set(c.repetition_penalty) && c.repetition_penalty !== 1)
    || (typeof c.no_repeat_ngram_size === 'number' && c.no_repeat_ngram_size > 0)
    || (typeof c.min_length === 'number' && c.min_length > 0)
    || set(c.forced_eos_token_id) || set(c.bad_words_ids);
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

function prepare(tokenizer: PreTrainedTokenizer, rawInput: unknown): Prepared {
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
  const promptIds = Array.from(encoded.input_ids.data as BigInt64Array);
  if (promptIds.length === 0) throw new InvalidInputError('text-generation: the prompt is empty');
  return { promptIds, sampling };
}

export function textGeneration(m: TextModel): TaskRunner {
  const { model, tokenizer } = m;
  const stopIds = eosIds(model, undefined);
  const reportedEos = eosIds(model, tokenizer.eos_token_id);
  // GPT-2 style tokenizers have no pad token: pad with end-of-sequence (the mask hides it anyway).
  const padId = BigInt(tokenizer.pad_token_id ?? tokenizer.eos_token_id ?? 0);
  const batchable = !paddingChangesDecoding(model);

  const outputOf = (sampling: Sampling, promptTokens: number, end: RowEnd): GenerateOutput => {
    const completionTokens = end.tokens.length;
    const endedOnEos = completionTokens > 0 && reportedEos.has(end.tokens[completionTokens - 1]!);
    const finishReason = end.stoppedByString || endedOnEos || completionTokens < sampling.maxNewTokens ? 'stop' : 'length';
    // TGI's order: the token budget first, then end-of-sequence, then a stop string; ending any
    // other way (the model's own max length) is a length stop too.
    const stopReason = completionTokens >= sampling.maxNewTokens ? 'length' : endedOnEos ? 'eos_token' : end.stoppedByString ? 'stop_sequence' : 'length';
    return { text: end.text, promptTokens, completionTokens, finishReason, stopReason };
  };

  /**
   * One generate() over `rows`: alone with its own sampling settings, or several
   * greedy rows padded together. `onEnd` hears each row's output the step it ends.
   */
  async function generateRows(
    rows: readonly Prepared[], emits: ReadonlyArray<Emit | undefined>, onEnd?: (i: number, out: GenerateOutput) => void, onStep?: () => void,
  ): Promise<GenerateOutput[]> {
    const outputs: GenerateOutput[] = [];
    const streamer = new BatchStreamer(
      rows.map((r, i) => ({ stream: new GenerationStream(tokenizer, r.sampling.stop, emits[i]), maxNewTokens: r.sampling.maxNewTokens })),
      stopIds,
      (i, end) => {
        outputs[i] = outputOf(rows[i]!.sampling, rows[i]!.promptIds.length, end);
        onEnd?.(i, outputs[i]!);
      },
      onStep,
    );
    const alone = rows.length === 1 ? rows[0]!.sampling : undefined;
    const generate = () => model.generate({
      ...leftPadded(rows.map((r) => r.promptIds), padId),
      max_new_tokens: Math.max(...rows.map((r) => r.sampling.maxNewTokens)),
      do_sample: alone?.doSample ?? false,
      ...(alone?.temperature !== undefined ? { temperature: alone.temperature } : {}),
      ...(alone?.topP !== undefined ? { top_p: alone.topP } : {}),
      ...(alone?.topK !== undefined ? { top_k: alone.topK } : {}),
      // generate() only calls put()/end(); its typings ask for a TextStreamer.
      streamer: streamer as unknown as TextStreamer,
      stopping_criteria: streamer.criteria,
    });
    // Greedy decoding draws no random numbers: it needs no turn.
    await (alone?.doSample ? withSamplerSeeded(alone.seed, generate) : generate());
    return outputs;
  }

  async function generateBatch(input: GenerateBatchInput, emit?: (chunk: GenerateBatchChunk) => void): Promise<GenerateBatchOutput> {
    if (!Array.isArray(input.requests) || input.requests.length === 0) throw new InvalidInputError('text-generation: a batch needs requests');
    const rows = input.requests.map((r) => prepare(tokenizer, r));
    // What the current step has to say, sent as one chunk when the step is over.
    const step: GenerateBatchChunk['rows'] = [];
    const emits = rows.map((_, index) => emit && ((chunk: GenerateChunk) => step.push({ index, text: chunk.text })));
    const ended = emit && ((index: number, output: GenerateOutput) => step.push({ index, output }));
    const flush = emit && (() => { if (step.length > 0) emit({ rows: step.splice(0) }); });
    if (batchable && rows.every((r) => !r.sampling.doSample)) return { results: await generateRows(rows, emits, ended, flush) };
    // Sampled rows (their own settings and seed) and length-dependent decoding run one by one.
    const results: GenerateOutput[] = [];
    for (const [i, row] of rows.entries()) results.push(...await generateRows([row], [emits[i]], ended && ((_, out) => ended(i, out)), flush));
    return { results };
  }

  return async (rawInput, emit): Promise<GenerateOutput | GenerateBatchOutput> => {
    if (typeof rawInput === 'object' && rawInput !== null && 'requests' in rawInput) {
      return generateBatch(rawInput as GenerateBatchInput, emit as ((chunk: GenerateBatchChunk) => void) | undefined);
    }
    const [output] = await generateRows([prepare(tokenizer, rawInput)], [emit as Emit | undefined]);
    return output!;
  };
}
