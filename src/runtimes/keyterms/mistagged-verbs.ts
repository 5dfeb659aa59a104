/**
 * wink's lite tagger often reads a present-tense verb right after its subject
 * as a noun: "Index funds track/NOUN a benchmark", "The conductor sets/NOUN
 * the tempo", and the phrase builder then glues subject, verb and object into
 * one "noun phrase" ("index funds track"). These rules re-tag such a word VERB.
 *
 * They look at one clause at a time (a sentence cut at punctuation,
 * conjunctions and "when/which/that/..."), and only at clauses where the
 * tagger found no finite verb: a clause without one most likely hides it in a
 * noun run. In such a clause, the first noun (not the first of its run) that
 *   A. follows a plural and is not itself plural-looking ("funds track",
 *      "researchers link"), when the run does not start after an article (so
 *      "an arms race" stays a noun phrase), or
 *   B. ends in -s, follows a singular noun and is followed by what can start
 *      an object or ends a clause cut at "when", "which", ... ("forms when") ("conductor sets the", "reaction browns
 *      the", "bread rises thanks"; not "solar panels last/ADV long")
 * is the verb. Independently of clauses, C: a noun ending in -ed (not -eed)
 * right after a noun is a past-tense verb ("deterrence rested").
 *
 * E: after "and"/"or", a plural-looking noun that starts a verbless clause
 * and is followed by a determiner, adjective or noun is the second verb of a
 * subject whose clause before the conjunction has one ("pressure strains/VERB
 * the heart and damages/NOUN arteries").
 *
 * Also, D: a sentence-initial verb right before a noun, in a sentence with
 * another finite verb, is a modifier ("Cover crops ... fix nitrogen",
 * "Damp walls usually come"); an imperative ("Add eggs") has no other verb.
 */
import { isNoun, type Tok } from './tok.js';

const CLAUSE_BREAK_WORDS = new Set(['when', 'while', 'which', 'that', 'where', 'because', 'who', 'whom', 'whose', 'if', 'so', 'although', 'though', 'whereas', 'unless', 'until', 'since']);
const ARTICLES = new Set(['a', 'an', 'the']);
/** What can follow a verb: its object, or a preposition ("rises thanks to", "tops up"). */
const OBJECT_START = new Set(['DET', 'PRON', 'NOUN', 'PROPN', 'ADJ', 'ADP', 'NUM']);

const isGerund = (t: Tok) => t.normal.endsWith('ing');
/** A verb that makes a clause (a gerund, or an infinitive after "to", does not). */
const isFiniteVerbAt = (toks: Tok[], i: number) => {
  const t = toks[i]!;
  return t.pos === 'AUX' || (t.pos === 'VERB' && !isGerund(t) && toks[i - 1]?.normal !== 'to');
};
const isClauseBreak = (t: Tok) =>
  t.type === 'punctuation' || t.pos === 'CCONJ' || t.pos === 'SCONJ' || CLAUSE_BREAK_WORDS.has(t.normal);
const endsAtClauseWord = (t: Tok | undefined) => t !== undefined && (t.pos === 'SCONJ' || CLAUSE_BREAK_WORDS.has(t.normal));
/** Stands for the end of a sentence or a break that B does not accept. */
const BREAK = { pos: 'PUNCT' } as Tok;
const isSimpleWord = (t: Tok) => t.type === 'word' && /^\p{L}+$/u.test(t.normal);
const pluralLooking = (t: Tok) => /[^sui]s$/.test(t.normal);

/** Is toks[i] a noun right after a noun, in a noun run that does not start after an article? */
function nounAfterNoun(toks: Tok[], from: number, i: number): { prev: Tok; afterArticle: boolean } | null {
  const t = toks[i]!;
  const prev = toks[i - 1]!;
  if (!isNoun(t) || !isNoun(prev) || !isSimpleWord(t)) return null;
  let start = i - 1;
  while (start > from && isNoun(toks[start - 1])) start--;
  return { prev, afterArticle: ARTICLES.has(toks[start - 1]?.normal ?? '') };
}

function retagClause(toks: Tok[], from: number, to: number): void {
  for (let i = from; i < to; i++) if (isFiniteVerbAt(toks, i)) return;
  // Rule A first: in "relational databases store data" the verb is "store", not "databases".
  const rules = [
    (t: Tok, prev: Tok, afterArticle: boolean) => pluralLooking(prev) && !pluralLooking(t) && !afterArticle,
    (t: Tok, prev: Tok, _afterArticle: boolean, next: Tok | undefined) => !pluralLooking(prev) && pluralLooking(t) && (next === undefined || OBJECT_START.has(next.pos)),
  ];
  for (const rule of rules) {
    for (let i = from + 1; i < to; i++) {
      const pair = nounAfterNoun(toks, from, i);
      // At the clause's end, B needs a clause that ends with "when", "which", ...: "a black hole
      // forms when", not "solar panels and" (a subject) or a list.
      const next = i + 1 < to ? toks[i + 1] : endsAtClauseWord(toks[to]) ? undefined : toks[to] ?? BREAK;
      if (pair && rule(toks[i]!, pair.prev, pair.afterArticle, next)) {
        toks[i]!.pos = 'VERB';
        return;
      }
    }
  }
}

export function retagMistaggedVerbs(toks: Tok[]): void {
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i]!;
    if (isNoun(t) && isNoun(toks[i - 1]) && isSimpleWord(t) && t.normal.length >= 5 && /[^e]ed$/.test(t.normal)) t.pos = 'VERB';
  }
  let from = 0;
  for (let i = 0; i <= toks.length; i++) {
    if (i < toks.length && !isClauseBreak(toks[i]!)) continue;
    if (i - from >= 2) retagClause(toks, from, i);
    from = i + 1;
  }
  retagSecondVerbs(toks);
  const first = toks.findIndex((t) => t.type === 'word');
  const head = toks[first];
  if (head && head.pos === 'VERB' && !isGerund(head) && isNoun(toks[first + 1]) && toks.some((_, i) => i > first + 1 && isFiniteVerbAt(toks, i))) head.pos = 'ADJ';
}

/** Rule E; runs after the clause rules, so a verb they re-tagged counts. */
function retagSecondVerbs(toks: Tok[]): void {
  for (let i = 1; i + 2 < toks.length; i++) {
    const conj = toks[i]!;
    const t = toks[i + 1]!;
    const next = toks[i + 2]!;
    if (conj.pos !== 'CCONJ' || !isNoun(t) || !isSimpleWord(t) || !pluralLooking(t)) continue;
    if (!(next.pos === 'DET' || next.pos === 'ADJ' || isNoun(next))) continue;
    let before = i - 1;
    while (before >= 0 && !isClauseBreak(toks[before]!)) before--;
    let after = i + 2;
    while (after < toks.length && !isClauseBreak(toks[after]!)) after++;
    const verbBefore = toks.some((_, k) => k > before && k < i && isFiniteVerbAt(toks, k));
    const verbAfter = toks.some((_, k) => k > i + 1 && k < after && isFiniteVerbAt(toks, k));
    if (verbBefore && !verbAfter) t.pos = 'VERB';
  }
}
