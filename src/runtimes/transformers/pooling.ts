// Turns per-token vectors [batch, seq, hidden] into one embedding per text.

import type { Pooling } from './options.js';

export interface TokenVectors {
  /** Row-major [batch, seq, hidden]. */
  data: Float32Array;
  batch: number;
  seq: number;
  hidden: number;
}

/**
 * 'mean' averages the vectors of the tokens the attention mask keeps (padding is
 * ignored, so a text embeds the same alone or in a padded batch); 'cls' takes the
 * first token's vector. `mask` is row-major [batch, seq], 1 = real token.
 */
export function pool(vectors: TokenVectors, mask: ArrayLike<number | bigint>, pooling: Pooling): Float32Array[] {
  const { data, batch, seq, hidden } = vectors;
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    if (pooling === 'cls') {
      out.push(data.slice(b * seq * hidden, b * seq * hidden + hidden));
      continue;
    }
    const sum = new Float64Array(hidden);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      if (Number(mask[b * seq + s]) === 0) continue;
      count++;
      const at = (b * seq + s) * hidden;
      for (let h = 0; h < hidden; h++) sum[h]! += data[at + h]!;
    }
    out.push(Float32Array.from(sum, (x) => (count > 0 ? x / count : 0)));
  }
  return out;
}

/** Scales `v` to unit L2 norm in place (a zero vector stays zero); returns it. */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
