// token-classification: TextListInput → TextListOutput<TokenEntity[]>, one entry per
// token whose best label is not ignored (default ignores 'O'), like transformers.js's
// pipeline with aggregation 'none', plus approximate character offsets.

import type { TextListOutput, TokenEntity } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { encodeBatch, float32Data, forward, labelNames, softmax, type TaskRunner, type TextModel } from './task.js';
import { readTextList } from './text-input.js';

function readIgnoreLabels(options: Record<string, unknown> | undefined): Set<string> {
  const ignore = options?.ignoreLabels;
  if (ignore === undefined) return new Set(['O']);
  if (!Array.isArray(ignore) || !ignore.every((l) => typeof l === 'string')) {
    throw new InvalidInputError('token-classification: options.ignoreLabels must be an array of strings');
  }
  return new Set(ignore);
}

/**
 * Finds each token's text in `text`, left to right. Offsets are approximate: they are
 * found by case-insensitive search, so tokens the tokenizer normalized beyond case
 * (accents stripped, [UNK]) get none.
 */
export class OffsetFinder {
  private cursor = 0;
  private readonly haystack: string | undefined;

  constructor(text: string) {
    const lower = text.toLowerCase();
    this.haystack = lower.length === text.length ? lower : undefined;
  }

  find(piece: string): { start: number; end: number } | undefined {
    const needle = piece.replace(/^##/, '').trim().toLowerCase();
    if (!this.haystack || needle === '') return undefined;
    const start = this.haystack.indexOf(needle, this.cursor);
    if (start < 0) return undefined;
    this.cursor = start + needle.length;
    return { start, end: this.cursor };
  }
}

export function tokenClassification(m: TextModel): TaskRunner {
  return async (input): Promise<TextListOutput<TokenEntity[]>> => {
    const { texts, options } = readTextList(input, 'token-classification');
    const ignore = readIgnoreLabels(options);
    const encoded = encodeBatch(m.tokenizer, texts);
    const { logits } = await forward(m.model, encoded);
    if (!logits || logits.dims.length !== 3) throw new Error('token-classification: the model has no [batch, seq, labels] logits output');
    const [batch, seq, count] = logits.dims as [number, number, number];
    const data = float32Data(logits);
    const ids = encoded.input_ids.data as ArrayLike<bigint>;
    const mask = encoded.attention_mask.data as ArrayLike<bigint>;
    const labels = labelNames(m.model, count);

    const results = Array.from({ length: batch }, (_, b) => {
      const offsets = new OffsetFinder(texts[b]!);
      const entities: TokenEntity[] = [];
      for (let s = 0; s < seq; s++) {
        if (Number(mask[b * seq + s]) === 0) continue;
        const word = m.tokenizer.decode([ids[b * seq + s]!], { skip_special_tokens: true });
        if (word === '') continue; // a special token ([CLS], [SEP], ...)
        const span = offsets.find(word);
        const scores = softmax(data.subarray((b * seq + s) * count, (b * seq + s + 1) * count));
        const best = scores.indexOf(Math.max(...scores));
        const entity = labels[best]!;
        if (ignore.has(entity)) continue;
        entities.push({ entity, score: scores[best]!, index: s, word, ...span });
      }
      return entities;
    });
    return { results };
  };
}
