/**
 * Deterministic stand-in vectors for texts none of whose tokens has a word
 * vector (all out-of-vocabulary, e.g. "zxqv blorft", or the empty string).
 *
 * Each token seeds a PRNG with its FNV-1a hash and draws a pseudo-random
 * vector; the text's vector is their normalized sum. So the result is never
 * all-zeros (cosine stays defined), the same text always maps to the same
 * vector in every process, and two such texts sharing tokens are similar.
 * These vectors carry no meaning: they are ~orthogonal to real sentence vectors.
 */
import { normalized } from './vector-math.js';

/** 32-bit FNV-1a over UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unit-length pseudo-random vector for a bag of tokens ([] is treated as ['']). */
export function hashedVector(tokens: readonly string[], dims: number): Float32Array {
  const sum = new Float64Array(dims);
  for (const token of tokens.length ? tokens : ['']) {
    const next = mulberry32(fnv1a(token));
    for (let j = 0; j < dims; j++) sum[j]! += next() * 2 - 1;
  }
  return normalized(sum);
}
