/**
 * The statistical half of the ensemble: a RAKE/YAKE-style score from the text
 * alone (no model), higher = more key.
 *
 *   word(w)    = (1 + ln freq(w)) * degree(w) / freq(w)     (w: a lemma, so "hole" and "holes" count together)
 *                 RAKE's degree/frequency ratio (words that mostly occur inside
 *                 longer phrases score higher), weighted up for words the text
 *                 repeats.
 *   stat(c)    = sum of word(w) over the words of c        (RAKE: phrases add up)
 *              * (1 + ln count(c))                          how often the term itself occurs
 *              * (1 + 0.5 * (1 - firstToken / tokenCount))  earlier first occurrence: up to x1.5 (YAKE: position)
 *              * (1 + 0.5 * casedCount / count)             capitalized mid-sentence / acronym: up to x1.5 (YAKE: casing)
 *
 * Like RAKE it favours longer phrases; the similarity half of the ensemble and
 * the deduplication keep that in check.
 */
import type { CandidateSet } from './candidates.js';

export function statisticalScores(set: CandidateSet): Map<string, number> {
  const scores = new Map<string, number>();
  const tokenCount = Math.max(1, set.tokenCount);
  for (const c of set.candidates) {
    let words = 0;
    for (const w of c.lemmas) {
      const s = set.words.get(w);
      if (!s || s.freq === 0) continue;
      words += (1 + Math.log(s.freq)) * (s.degree / s.freq);
    }
    const frequency = 1 + Math.log(c.count);
    const position = 1 + 0.5 * (1 - c.firstToken / tokenCount);
    const casing = 1 + (0.5 * c.casedCount) / c.count;
    scores.set(c.term, words * frequency * position * casing);
  }
  return scores;
}
