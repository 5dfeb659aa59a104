import type { TextListInput, TextListOutput } from '../runtimes/task-io.js';
import type { BatchCodec } from './batch-codec.js';

/** Stacks lists of texts: rows are texts, results come back in the same order. */
export const textListCodec: BatchCodec<TextListInput, TextListOutput<unknown>> = {
  rows: (input) => input.texts.length,
  key: (input) => JSON.stringify(input.options ?? {}),
  concat: (inputs) => ({
    texts: inputs.flatMap((i) => i.texts),
    instructions: inputs.some((i) => i.instructions) ? inputs.flatMap((i) => i.instructions ?? i.texts.map(() => '')) : undefined,
    options: inputs[0]!.options,
  }),
  split: (output, rows) => {
    let at = 0;
    return rows.map((n) => ({ results: output.results.slice(at, (at += n)) }));
  },
};
