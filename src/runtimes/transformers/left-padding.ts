// Several prompts as one decoder-only generate() input.

import { Tensor } from '@huggingface/transformers';

/**
 * Prompts left-padded to the longest (`padId`, attention mask 0), as decoder-only
 * generation needs: every row's next token is then at the same last position.
 * Each prompt was encoded alone, exactly as a single request encodes it (a chat
 * prompt and a plain one may differ in special tokens). transformers.js derives
 * position ids from the mask (cumsum - 1), so a padded row's positions start at 0
 * like its single run's.
 */
export function leftPadded(prompts: readonly bigint[][], padId: bigint): { input_ids: Tensor; attention_mask: Tensor } {
  const width = Math.max(...prompts.map((p) => p.length));
  const ids = new BigInt64Array(prompts.length * width).fill(padId);
  const mask = new BigInt64Array(prompts.length * width);
  prompts.forEach((p, row) => {
    const start = row * width + width - p.length;
    ids.set(p, start);
    mask.fill(1n, start, start + p.length);
  });
  const dims = [prompts.length, width];
  return { input_ids: new Tensor('int64', ids, dims), attention_mask: new Tensor('int64', mask, dims) };
}
