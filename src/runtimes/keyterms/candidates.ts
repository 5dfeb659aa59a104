/**
 * Keyterm candidates: noun phrases found with wink-nlp's part-of-speech tags.
 *
 * A phrase is a run of adjectives / nouns / proper nouns (ADJ* (NOUN|PROPN)+,
 * roughly) inside one sentence, lower-cased, at most `maxWords` long. Its
 * candidates are the phrase itself, its shorter tails of 2+ words that do not
 * start with a gerund ("new machine learning models" -> "machine learning
 * models"; "known capacity limit" -> "capacity limit") and every single
 * noun / proper noun in it ("curious animals" -> "animals"), except a
 * hyphenated compound that only modifies the head ("long-range").
 *
 * The tokens come from sentence-tokens.ts (hyphenated compounds kept whole,
 * mis-tagged verbs re-tagged). Further adjustments for the tagger's habits:
 *  - a gerund tagged VERB right before a noun is kept as a modifier
 *    ("machine learning models", "running shoes");
 *  - a lone adjective after a determiner and before no noun is read as a noun
 *    ("in the east", "helping the poor");
 *  - stop words, numbers, punctuation and symbols never enter a phrase (a stop
 *    word splits one), so a term never starts or ends with "the", "other", ...
 */
import { readSentences } from './sentence-tokens.js';
import { isNoun, NOUNS, type Tok } from './tok.js';

export interface Candidate {
  /** Lower-cased words joined by single spaces (as first written, when inflections differ). */
  term: string;
  words: string[];
  /** The words' lemmas: one candidate per lemma sequence ("black hole" and "black holes" are one). */
  lemmas: string[];
  /** Occurrences in the text. */
  count: number;
  /** Token offset of the first occurrence in the whole text. */
  firstToken: number;
  /** Sentence (0-based) of the first occurrence. */
  firstSentence: number;
  /** Occurrences written with a capital that sentence-initial position does not explain, or as an acronym. */
  casedCount: number;
}

/** Per lemma: RAKE-style statistics. */
export interface WordStats {
  /** Occurrences of the word as a content word (not a stop word) anywhere in the text. */
  freq: number;
  /** Sum of the lengths of the phrases it occurs in (its co-occurrence degree, itself included). */
  degree: number;
}

export interface CandidateSet {
  candidates: Candidate[];
  /** Keyed by lemma. */
  words: Map<string, WordStats>;
  tokenCount: number;
  sentenceCount: number;
}

const HAS_LETTER = /\p{L}/u;
const AFTER_PREPOSITION = new Set(['ADP', 'SCONJ', 'PART']);

const isGerund = (t: Tok) => t.pos === 'VERB' && t.normal.length > 4 && t.normal.endsWith('ing');
const isWord = (t: Tok) => t.type === 'word' && !t.stop && HAS_LETTER.test(t.normal);

/** May `t` (at i) be part of a phrase? */
function phraseable(toks: Tok[], i: number): boolean {
  const t = toks[i]!;
  if (!isWord(t)) return false;
  if (t.pos === 'ADJ' || NOUNS.has(t.pos)) return true;
  // A gerund modifies a following noun ("learning models"), or an adjective+noun ("learning rate"),
  // but after a preposition it is a verb ("by whisking hot milk", "from merging black holes").
  return isGerund(t) && (isNoun(toks[i + 1]) || toks[i + 1]?.pos === 'ADJ') && !AFTER_PREPOSITION.has(toks[i - 1]?.pos ?? '');
}

/** Maximal phrases of one sentence, each ending in a noun (or a nominal adjective). */
function phrasesOf(toks: Tok[], maxWords: number): Tok[][] {
  const phrases: Tok[][] = [];
  let i = 0;
  while (i < toks.length) {
    if (!phraseable(toks, i)) {
      i++;
      continue;
    }
    let j = i;
    while (j < toks.length && phraseable(toks, j)) j++;
    let run = toks.slice(i, j);
    // A noun phrase ends in a noun: trailing adjectives / gerunds are dropped.
    let end = run.length;
    while (end > 0 && !isNoun(run[end - 1])) end--;
    if (end > 0) {
      run = run.slice(0, end);
      if (run.length > maxWords) run = run.slice(run.length - maxWords);
      phrases.push(run);
    } else if (run.length === 1 && run[0]!.pos === 'ADJ' && toks[i - 1]?.pos === 'DET') {
      // "the east", "the poor": an adjective used as a noun.
      phrases.push(run);
    }
    i = j;
  }
  return phrases;
}

export interface CandidateOptions {
  /** Longest phrase, in words (default 4); longer runs keep their last words. */
  maxWords?: number;
}

export function extractCandidates(text: string, options: CandidateOptions = {}): CandidateSet {
  const maxWords = Math.max(1, options.maxWords ?? 4);
  const { sentences, tokenCount } = readSentences(text);
  const words = new Map<string, WordStats>();
  const byLemmas = new Map<string, Candidate>();

  const stats = (w: string) => {
    let s = words.get(w);
    if (!s) words.set(w, (s = { freq: 0, degree: 0 }));
    return s;
  };
  const add = (toks: Tok[], sentence: number) => {
    const ws = toks.map((t) => t.normal);
    const lemmas = toks.map((t) => t.lemma);
    const key = lemmas.join(' ');
    const cased = toks.some((t) => t.cased) ? 1 : 0;
    const c = byLemmas.get(key);
    if (c) {
      c.count++;
      c.casedCount += cased;
    } else {
      byLemmas.set(key, { term: ws.join(' '), words: ws, lemmas, count: 1, firstToken: toks[0]!.at, firstSentence: sentence, casedCount: cased });
    }
  };

  sentences.forEach((toks, sentence) => {
    for (const t of toks) if (isWord(t)) stats(t.lemma).freq++;
    for (const phrase of phrasesOf(toks, maxWords)) {
      for (const t of phrase) stats(t.lemma).degree += phrase.length;
      if (phrase.length > 1 || phrase[0]!.normal.length >= 2) add(phrase, sentence);
      if (phrase.length === 1) continue;
      // Its shorter tails of 2+ words ("known capacity limit" -> "capacity limit"), not led by a gerund.
      for (let a = 1; a < phrase.length - 1; a++) if (!isGerund(phrase[a]!)) add(phrase.slice(a), sentence);
      // Its nouns; a hyphenated compound only as the head ("long-range" in "long-range dependencies" modifies).
      phrase.forEach((t, i) => {
        if (isNoun(t) && t.normal.length >= 2 && (i === phrase.length - 1 || !t.normal.includes('-'))) add([t], sentence);
      });
    }
  });
  return { candidates: [...byLemmas.values()], words, tokenCount, sentenceCount: sentences.length };
}
