import type { GenerateBatchChunk, GenerateBatchInput, GenerateBatchOutput, GenerateInput, GenerateOutput } from '../runtimes/task-io.js';
import { readSampling } from '../runtimes/transformers/sampling.js';
import type { BatchCodec, RoutedChunk } from './batch-codec.js';

type GenerationIn = GenerateInput | GenerateBatchInput;
type GenerationOut = GenerateOutput | GenerateBatchOutput;

/**
 * Whether a request can share a generate() call: greedy decoding and well-formed.
 * Greedy rows only differ in their prompt, token budget and stop strings, which
 * the runtime keeps per row. Sampled requests run alone: temperature, top-p and
 * top-k apply to the whole call, and a seeded request must draw the same random
 * numbers as it would alone to give the same text.
 */
function greedy(input: GenerateInput): boolean {
  try {
    if (readSampling(input).doSample) return false;
  } catch {
    return false; // Alone, it gets its own clear error.
  }
  return (typeof input.prompt === 'string' && input.prompt !== '') || (Array.isArray(input.messages) && input.messages.length > 0);
}

let alone = 0;

/**
 * Text generation: greedy requests stack into one GenerateBatchInput (one row
 * each); the batch's streamed chunks name their row, so each goes to its own
 * request, and a row's output arrives as a chunk the step it ends.
 */
export const generationCodec: BatchCodec<GenerationIn, GenerationOut> = {
  rows: () => 1,
  key: (input) => (greedy(input as GenerateInput) ? 'greedy' : `alone:${++alone}`),
  concat: (inputs): GenerateBatchInput => ({ requests: inputs as GenerateInput[] }),
  split: (output) => (output as GenerateBatchOutput).results,
  routeChunk: (data): RoutedChunk<GenerationOut>[] => (data as GenerateBatchChunk).rows.map((row) =>
    'output' in row ? { member: row.index, output: row.output } : { member: row.index, chunk: { text: row.text } }),
};
