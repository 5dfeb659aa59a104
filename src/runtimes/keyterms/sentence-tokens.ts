/**
 * The tokens of each sentence as the candidate rules need them: wink-nlp's
 * tokens and part-of-speech tags, with three repairs for the lite model's
 * habits:
 *
 *  1. hyphenated compounds are one token again: wink splits "long-range" into
 *     "long" "-" "range", so a phrase would break at the hyphen ("range
 *     dependencies"). Parts joined by "-" with no space on either side become
 *     one token ("long-range", "state-of-the-art", "use-after-free"), a noun
 *     when its last part is a noun, else an adjective (a modifier: "well-known");
 *     a "verb" right after it with no object is the noun it modifies ("a
 *     write-ahead log/VERB is" -> NOUN);
 *  2. a verb tagged NOUN right after its subject ("index funds track a
 *     benchmark", "the conductor sets the tempo") is re-tagged VERB, so it
 *     does not glue subject and object into one phrase (see mistagged-verbs.ts);
 *  3. a sentence-initial "proper noun" right before a noun is read as a
 *     modifier ("Recent/PROPN advances" -> "recent advances").
 */
import type { ItemSentence, ItemToken, ItsFunction } from 'wink-nlp';
import { winkTagger } from '../embed/wink.js';
import { retagMistaggedVerbs } from './mistagged-verbs.js';
import { isNoun, type Tok } from './tok.js';


/** A token that can be part of a hyphenated compound. */
const compoundPart = (t: Tok) => t.type === 'word' || t.type === 'number';
const HAS_LETTER = /\p{L}/u;

/** Joins "a" "-" "b" ("-" and "b" with no preceding space) into one token "a-b". */
function mergeHyphenCompounds(toks: Tok[], spaces: string[]): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < toks.length) {
    let j = i;
    // Extend while the next two tokens are a glued "-" and a glued part.
    while (
      compoundPart(toks[j]!) &&
      toks[j + 1]?.normal === '-' && spaces[j + 1] === '' &&
      toks[j + 2] && compoundPart(toks[j + 2]!) && spaces[j + 2] === ''
    ) j += 2;
    if (j === i) {
      out.push(toks[i]!);
      i++;
      continue;
    }
    const parts = toks.slice(i, j + 1).filter((_, k) => k % 2 === 0);
    const normal = parts.map((p) => p.normal).join('-');
    out.push({
      normal,
      lemma: parts.map((p) => p.lemma).join('-'),
      pos: isNoun(parts.at(-1)) ? 'NOUN' : 'ADJ',
      type: HAS_LETTER.test(normal) ? 'word' : 'number',
      stop: false,
      cased: parts.some((p) => p.cased),
      at: parts[0]!.at,
    });
    i = j + 1;
    // The tagger saw "ahead log", not "write-ahead log": a verb right after a compound,
    // with no object of its own, is the noun it modifies ("a write-ahead log is ...").
    const next = toks[i];
    const after = toks[i + 1];
    if (next?.pos === 'VERB' && (!after || NOT_AN_OBJECT.has(after.pos))) next.pos = 'NOUN';
  }
  return out;
}

const NOT_AN_OBJECT = new Set(['PUNCT', 'AUX', 'VERB', 'ADP', 'CCONJ', 'SCONJ']);

/** The sentences of `text`, repaired as described above; `tokenCount` counts wink's tokens. */
export function readSentences(text: string): { sentences: Tok[][]; tokenCount: number } {
  const nlp = winkTagger();
  const its = nlp.its;
  const sentences: Tok[][] = [];
  let at = 0;
  nlp
    .readDoc(text)
    .sentences()
    .each((s: ItemSentence) => {
      const toks: Tok[] = [];
      const spaces: string[] = [];
      let seenWord = false;
      s.tokens().each((t: ItemToken) => {
        const value = t.out(its.value) as string;
        const type = t.out(its.type) as string;
        const letterCase = t.out(its.case) as string;
        // A capital at the start of a sentence says nothing; an acronym (NASA) always does.
        const acronym = letterCase === 'upperCase' && value.replace(/[^\p{L}]/gu, '').length >= 2;
        const cased = acronym || (seenWord && (letterCase === 'titleCase' || letterCase === 'upperCase'));
        if (type === 'word') seenWord = true;
        spaces.push(t.out(its.precedingSpaces) as string);
        toks.push({
          normal: (t.out(its.normal) as string).toLowerCase(),
          lemma: (t.out(its.lemma as unknown as ItsFunction<string> /* wink's typings give lemma another signature */) as string).toLowerCase(),
          pos: t.out(its.pos) as string,
          type,
          stop: t.out(its.stopWordFlag) as boolean,
          cased,
          at: at++,
        });
      });
      const merged = mergeHyphenCompounds(toks, spaces);
      retagMistaggedVerbs(merged);
      // Sentence-initial capitals fool the tagger: "Recent/PROPN advances". Before a
      // noun such a word is more likely a modifier than a name of its own.
      const first = merged.findIndex((t) => t.type === 'word');
      const head = merged[first];
      if (head && head.pos === 'PROPN' && !head.cased && isNoun(merged[first + 1])) head.pos = 'ADJ';
      sentences.push(merged);
    });
  return { sentences, tokenCount: at };
}
