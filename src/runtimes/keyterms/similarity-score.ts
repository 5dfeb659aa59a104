/**
 * The semantic half of the ensemble, KeyBERT-style: a candidate is key when
 * its embedding is close to the embedding of the whole text. Any
 * SentenceEmbedder works (the built-in word-vector one by default).
 */
import type { SentenceEmbedder } from '../embed/sentence-embedder.js';
import { cosine } from '../embed/vector-math.js';

/** Cosine similarity of each term's vector to the document's vector. */
export function similarityScores(doc: ArrayLike<number>, terms: readonly string[], termVectors: readonly ArrayLike<number>[]): Map<string, number> {
  const scores = new Map<string, number>();
  terms.forEach((term, i) => scores.set(term, cosine(doc, termVectors[i]!)));
  return scores;
}

export interface SimilarityJob {
  text: string;
  terms: readonly string[];
}

/**
 * Similarity scores for several texts with a single `embed` call (one batch
 * for the embedder: each text followed by its candidate terms).
 */
export async function similarityScoresBatch(embedder: SentenceEmbedder, jobs: readonly SimilarityJob[]): Promise<Map<string, number>[]> {
  const inputs: string[] = [];
  for (const job of jobs) inputs.push(job.text, ...job.terms);
  const vectors = inputs.length ? await embedder.embed(inputs) : [];
  if (vectors.length !== inputs.length) throw new Error(`keyterms: the embedder returned ${vectors.length} vectors for ${inputs.length} texts`);
  const out: Map<string, number>[] = [];
  let at = 0;
  for (const job of jobs) {
    const doc = vectors[at]!;
    out.push(similarityScores(doc, job.terms, vectors.slice(at + 1, at + 1 + job.terms.length)));
    at += 1 + job.terms.length;
  }
  return out;
}
