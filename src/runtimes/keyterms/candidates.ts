/**
 * Keyterm candidates: noun phrases found with wink-nlp's part-of-speech tags.
 *
 * A phrase is a run of adjectives / nouns / proper nouns (ADJ* (NOUN|PROPN)+,
 * roughly) inside one sentence, lower-cased, at most `maxWords` long. Its
 * candidates are the phrase itself, its tail after the last adjective ("new
 * machine learning models" -> "machine learning models") and every single
 * noun / proper noun in it ("curious animals" -> "animals").
 *
 * Adjustments for the tagger's habits (wink's lite model is small):
 *  - a gerund tagged VERB right before a noun is kept as a modifier
 *    ("machine learning models", "running shoes");
 *  - a sentence-initial "proper noun" right before a noun is read as a
 *    modifier ("Recent advances" -> "recent advances", not "recent");
 *  - a lone adjective after a determiner and before no noun is read as a noun
 *    ("in the east", "helping the poor");
 *  - stop words, numbers, punctuation and symbols never enter a phrase (a stop
 *    word splits one), so a term never starts or ends with "the", "other", ...
 */
import type { ItemSentence, ItemToken } from 'wink-nlp';
import { winkTagger } from '../embed/wink.js';

export interface Candidate {
  /** Lower-cased words joined by single spaces. */
  term: string;
  words: string[];
  /** Occurrences in the text. */
  count: number;
  /** Token offset of the first occurrence in the whole text. */
  firstToken: number;
  /** Sentence (0-based) of the first occurrence. */
  firstSentence: number;
  /** Occurrences written with a capital that sentence-initial position does not explain, or as an acronym. */
  casedCount: number;
}

/** Per lower-cased word: RAKE-style statistics. */
export interface WordStats {
  /** Occurrences of the word as a content word (not a stop word) anywhere in the text. */
  freq: number;
  /** Sum of the lengths of the phrases it occurs in (its co-occurrence degree, itself included). */
  degree: number;
}

export interface CandidateSet {
  candidates: Candidate[];
  words: Map<string, WordStats>;
  tokenCount: number;
  sentenceCount: number;
}

interface Tok {
  normal: string;
  pos: string;
  type: string;
  stop: boolean;
  cased: boolean;
  /** Offset in the whole text. */
  at: number;
}

const NOUNS = new Set(['NOUN', 'PROPN']);
const HAS_LETTER = /\p{L}/u;

const isNoun = (t: Tok | undefined) => t !== undefined && NOUNS.has(t.pos);
const isGerund = (t: Tok) => t.pos === 'VERB' && t.normal.length > 4 && t.normal.endsWith('ing');
const isWord = (t: Tok) => t.type === 'word' && !t.stop && HAS_LETTER.test(t.normal);

/** May `t` (at i) be part of a phrase? */
function phraseable(toks: Tok[], i: number): boolean {
  const t = toks[i]!;
  if (!isWord(t)) return false;
  if (t.pos === 'ADJ' || NOUNS.has(t.pos)) return true;
  // A gerund modifies a following noun ("learning models"), or an adjective+noun ("learning rate").
  return isGerund(t) && (isNoun(toks[i + 1]) || toks[i + 1]?.pos === 'ADJ');
}

/** The tokens of each sentence, with what the candidate rules need. */
function readSentences(text: string): { sentences: Tok[][]; tokenCount: number } {
  const nlp = winkTagger();
  const its = nlp.its;
  const sentences: Tok[][] = [];
  let at = 0;
  nlp
    .readDoc(text)
    .sentences()
    .each((s: ItemSentence) => {
      const toks: Tok[] = [];
      let seenWord = false;
      s.tokens().each((t: ItemToken) => {
        const value = t.out(its.value) as string;
        const type = t.out(its.type) as string;
        const letterCase = t.out(its.case) as string;
        // A capital at the start of a sentence says nothing; an acronym (NASA) always does.
        const acronym = letterCase === 'upperCase' && value.replace(/[^\p{L}]/gu, '').length >= 2;
        const cased = acronym || (seenWord && (letterCase === 'titleCase' || letterCase === 'upperCase'));
        if (type === 'word') seenWord = true;
        toks.push({
          normal: (t.out(its.normal) as string).toLowerCase(),
          pos: t.out(its.pos) as string,
          type,
          stop: t.out(its.stopWordFlag) as boolean,
          cased,
          at: at++,
        });
      });
      // Sentence-initial capitals fool the tagger: "Recent/PROPN advances". Before a
      // noun such a word is more likely a modifier than a name of its own.
      const first = toks.findIndex((t) => t.type === 'word');
      const head = toks[first];
      if (head && head.pos === 'PROPN' && !head.cased && isNoun(toks[first + 1])) head.pos = 'ADJ';
      sentences.push(toks);
    });
  return { sentences, tokenCount: at };
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
  const byTerm = new Map<string, Candidate>();

  const stats = (w: string) => {
    let s = words.get(w);
    if (!s) words.set(w, (s = { freq: 0, degree: 0 }));
    return s;
  };
  const add = (toks: Tok[], sentence: number) => {
    const ws = toks.map((t) => t.normal);
    const term = ws.join(' ');
    const cased = toks.some((t) => t.cased) ? 1 : 0;
    const c = byTerm.get(term);
    if (c) {
      c.count++;
      c.casedCount += cased;
    } else {
      byTerm.set(term, { term, words: ws, count: 1, firstToken: toks[0]!.at, firstSentence: sentence, casedCount: cased });
    }
  };

  sentences.forEach((toks, sentence) => {
    for (const t of toks) if (isWord(t)) stats(t.normal).freq++;
    for (const phrase of phrasesOf(toks, maxWords)) {
      for (const t of phrase) stats(t.normal).degree += phrase.length;
      if (phrase.length > 1 || phrase[0]!.normal.length >= 2) add(phrase, sentence);
      if (phrase.length === 1) continue;
      // The tail after the last adjective (and a gerund that then leads it).
      let k = phrase.findLastIndex((t) => t.pos === 'ADJ') + 1;
      if (k > 0 && phrase[k] && isGerund(phrase[k]!)) k++;
      if (k > 0 && phrase.length - k >= 2) add(phrase.slice(k), sentence);
      for (const t of phrase) if (isNoun(t) && t.normal.length >= 2) add([t], sentence);
    }
  });
  return { candidates: [...byTerm.values()], words, tokenCount, sentenceCount: sentences.length };
}
