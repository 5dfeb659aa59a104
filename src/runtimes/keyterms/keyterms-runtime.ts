/**
 * The 'keyterms' runtime: keyterm extraction by an ensemble, in the spirit of
 * Laminoid's /keyterms (BERT + a keyword extractor + fastText), built from
 * parts that run offline on a fresh install:
 *
 *   1. candidates     noun phrases from wink-nlp POS tags, hyphenated
 *                     compounds kept whole, mis-tagged verbs repaired,
 *                     inflections merged by lemma    (candidates.ts, sentence-tokens.ts,
 *                                                     mistagged-verbs.ts)
 *   2. statistics     RAKE/YAKE-style frequency/degree/position/case (statistical-score.ts)
 *   3. similarity     KeyBERT-style cosine of candidate to text,
 *                     with any SentenceEmbedder (built-in word vectors by default)
 *                                                                    (similarity-score.ts)
 *   2+3 are both multiplied by the candidate's specificity: generic nouns
 *   ("way", "thing", "text") and very frequent words score less; phrases are
 *   specific                                                         (specificity.ts)
 *   4. fusion         reciprocal rank fusion of 2 and 3 -> score in (0, 1] (rank-fusion.ts)
 *   5. dedup          a term that contains or is contained in a higher-ranked
 *                     term (word for word, or lemma for lemma) is dropped
 *
 * Input: TextListInput; one result list per text. Options (request
 * `input.options`, else model `ref.options`): `top` (default 5), `rrfK`
 * (default 10), `maxWords` (default 4), `maxCandidates` (default 200: the best
 * by statistics are the only ones embedded). `ref.path` is ignored.
 *
 * The model holds the process-wide word vectors (shared with the built-in
 * embedder and the embed runtime) for their frequency ranks, whatever the
 * embedder.
 *
 * Limits: English only; the lite POS tagger mis-tags some words and the
 * repairs are heuristics (a verb after a noun can still become part of a
 * phrase: "kubernetes schedules containers"); terms are lower-cased surface
 * forms as first written ("black holes" and "black hole" are one term, shown
 * as the first); short texts give few candidates, and scores are ranks, not
 * probabilities. Quality is measured on test/fixtures/keyterms-eval (F1@5).
 */
import { acquireBuiltinEmbedder, releaseBuiltinEmbedder, textsOf } from '../embed/embed-runtime.js';
import { WordVectorEmbedder, type SentenceEmbedder } from '../embed/sentence-embedder.js';
import { acquireWordVectors, releaseWordVectors, type WordVectors } from '../embed/word-vectors.js';
import type { LoadedModel, ModelRef, Runtime, RuntimeEnv } from '../runtime.js';
import type { Keyterm, TextListInput, TextListOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { extractCandidates, type Candidate } from './candidates.js';
import { DEFAULT_RRF_K, ranksOf, reciprocalRankFusion } from './rank-fusion.js';
import { similarityScoresBatch } from './similarity-score.js';
import { specificity, type WordRank } from './specificity.js';
import { statisticalScores } from './statistical-score.js';

export interface KeytermOptions {
  /** How many terms per text (default 5). */
  top?: number;
  /** RRF constant k (default 10). */
  rrfK?: number;
  /** Longest candidate phrase in words (default 4). */
  maxWords?: number;
  /** Candidates scored by similarity per text, best by statistics first (default 200). */
  maxCandidates?: number;
}

function positiveInt(options: Record<string, unknown>, key: string, fallback: number): number {
  const v = options[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InvalidInputError(`keyterms: invalid options.${key} ${JSON.stringify(v)}, expected a positive integer`);
  return v;
}

function resolveOptions(options: Record<string, unknown> = {}): Required<KeytermOptions> {
  const rrfK = options.rrfK ?? DEFAULT_RRF_K;
  if (typeof rrfK !== 'number' || !(rrfK >= 0) || !Number.isFinite(rrfK)) throw new InvalidInputError(`keyterms: invalid options.rrfK ${JSON.stringify(rrfK)}, expected a number >= 0`);
  return {
    top: positiveInt(options, 'top', 5),
    rrfK,
    maxWords: positiveInt(options, 'maxWords', 4),
    maxCandidates: positiveInt(options, 'maxCandidates', 200),
  };
}

/** Is `inner` a whole-word part of `outer` ("sun" in "sun rises", not "sun" in "sunday")? */
export function containsTerm(outer: string, inner: string): boolean {
  return outer !== inner && ` ${outer} `.includes(` ${inner} `);
}

/** Do two candidates name the same thing, one inside the other (word for word or lemma for lemma)? */
function overlaps(a: Candidate, b: Candidate): boolean {
  const la = a.lemmas.join(' ');
  const lb = b.lemmas.join(' ');
  return containsTerm(a.term, b.term) || containsTerm(b.term, a.term) || la === lb || containsTerm(la, lb) || containsTerm(lb, la);
}

/**
 * Keyterms of each text, best first. `wordRank` (a word's frequency rank in
 * English) sharpens the penalty on common words; without it only the list of
 * generic nouns applies (specificity.ts).
 */
export async function extractKeyterms(texts: readonly string[], embedder: SentenceEmbedder, options: KeytermOptions = {}, wordRank?: WordRank): Promise<Keyterm[][]> {
  const opts = resolveOptions(options as Record<string, unknown>);
  const perText = texts.map((text) => {
    const set = extractCandidates(text, { maxWords: opts.maxWords });
    const spec = new Map(set.candidates.map((c) => [c.term, specificity(c.words, wordRank)]));
    const stats = statisticalScores(set);
    for (const [term, s] of stats) stats.set(term, s * spec.get(term)!);
    const kept = set.candidates
      .slice()
      .sort((a, b) => stats.get(b.term)! - stats.get(a.term)! || a.firstToken - b.firstToken)
      .slice(0, opts.maxCandidates);
    return { text, candidates: kept, stats, spec };
  });
  const jobs = perText.filter((p) => p.candidates.length > 0);
  const sims = await similarityScoresBatch(
    embedder,
    jobs.map((p) => ({ text: p.text, terms: p.candidates.map((c) => c.term) })),
  );
  const simOf = new Map(jobs.map((p, i) => [p, sims[i]!]));

  return perText.map((p) => {
    const cosines = simOf.get(p);
    if (!cosines) return [];
    // Cosine in [-1, 1] -> [0, 1], so that a smaller specificity always means a lower score.
    const sim = new Map([...cosines].map(([term, cos]) => [term, ((1 + cos) / 2) * p.spec.get(term)!]));
    const stat = new Map(p.candidates.map((c) => [c.term, p.stats.get(c.term)!]));
    const fused = reciprocalRankFusion([ranksOf(stat), ranksOf(sim)], opts.rrfK);
    const order = p.candidates.slice().sort(
      (a: Candidate, b: Candidate) =>
        fused.get(b.term)! - fused.get(a.term)! ||
        sim.get(b.term)! - sim.get(a.term)! ||
        stat.get(b.term)! - stat.get(a.term)! ||
        a.firstToken - b.firstToken,
    );
    const out: Keyterm[] = [];
    const picked: Candidate[] = [];
    for (const c of order) {
      if (out.length >= opts.top) break;
      // One slot per concept: skip a term inside a better one, or containing one,
      // word for word or lemma for lemma ("black holes" / "merging black hole").
      if (picked.some((k) => overlaps(k, c))) continue;
      picked.push(c);
      out.push({ term: c.term, score: fused.get(c.term)! });
    }
    return out;
  });
}

/** An embedder held by a loaded keyterms model. */
export interface EmbedderHandle {
  embedder: SentenceEmbedder;
  /** Memory it holds, for the worker's budget. */
  sizeBytes: number;
  release(): void | Promise<void>;
}

export type EmbedderFactory = (ref: ModelRef, env: RuntimeEnv) => Promise<EmbedderHandle>;

/** The default: the built-in word-vector embedder, shared with the embed runtime. */
export const builtinEmbedderFactory: EmbedderFactory = async (_ref, env) => {
  const embedder = await acquireBuiltinEmbedder(env);
  return { embedder, sizeBytes: embedder.vectors.sizeBytes, release: releaseBuiltinEmbedder };
};

class KeytermsModel implements LoadedModel {
  private released = false;
  private readonly wordRank: WordRank;

  constructor(
    private readonly handle: EmbedderHandle,
    private readonly defaults: Record<string, unknown>,
    /** The process-wide word vectors, held for their frequency ranks (see specificity.ts). */
    private readonly vectors: WordVectors,
  ) {
    this.wordRank = (word) => vectors.rowOf(word);
  }

  /**
   * The embedder's memory, plus the word vectors when the embedder does not
   * already hold them (the shared word vectors are also counted by a loaded
   * embed model).
   */
  get sizeBytes(): number {
    const e = this.handle.embedder;
    const shared = e instanceof WordVectorEmbedder && e.vectors === this.vectors;
    return this.handle.sizeBytes + (shared ? 0 : this.vectors.sizeBytes);
  }

  async run(input: unknown): Promise<TextListOutput<Keyterm[]>> {
    const texts = textsOf(input, 'keyterms');
    const options = { ...this.defaults, ...((input as TextListInput).options ?? {}) };
    return { results: await extractKeyterms(texts, this.handle.embedder, options as KeytermOptions, this.wordRank) };
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    releaseWordVectors();
    await this.handle.release();
  }
}

/** A keyterms runtime whose similarity scores come from the embedder `factory` provides. */
export function createKeytermsRuntime(factory: EmbedderFactory = builtinEmbedderFactory, name = 'keyterms'): Runtime {
  return {
    name,
    async load(ref: ModelRef, env: RuntimeEnv): Promise<LoadedModel> {
      const defaults = ref.options ?? {};
      resolveOptions(defaults); // fail at load time on bad model options
      const vectors = await acquireWordVectors({ cacheDir: env.modelCacheDir });
      try {
        return new KeytermsModel(await factory(ref, env), defaults, vectors);
      } catch (err) {
        releaseWordVectors();
        throw err;
      }
    },
  };
}

export const keytermsRuntime: Runtime = createKeytermsRuntime();
