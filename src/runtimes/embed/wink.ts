/**
 * Shared wink-nlp instances (English lite web model), created on first use.
 * The language model module is loaded once; each pipe gets its own instance.
 */
import winkNLP, { type ItemToken, type WinkMethods } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

/** Token types that carry no meaning of their own for embeddings or keyterms. */
export const NON_CONTENT_TYPES: ReadonlySet<string> = new Set(['punctuation', 'symbol', 'tabCRLF', 'currency']);

let tokenizer: WinkMethods | null = null;
let tagger: WinkMethods | null = null;

/** Tokenization only (token types, normal forms, stop-word flags): the fastest pipe. */
export function winkTokenizer(): WinkMethods {
  return (tokenizer ??= winkNLP(model, []));
}

/** Sentence boundaries and part-of-speech tags (for keyterm candidates). */
export function winkTagger(): WinkMethods {
  return (tagger ??= winkNLP(model, ['sbd', 'pos']));
}

/** One token of a wink document, as plain data. */
export interface WinkToken {
  /** Text as written. */
  value: string;
  /** Lower-cased, contractions expanded ("n't" -> "not"). */
  normal: string;
  /** wink token type: word, number, punctuation, emoji, url, ... */
  type: string;
  stop: boolean;
}

/** Tokenizes `text` with the tokenization-only pipe. */
export function tokenize(text: string): WinkToken[] {
  const nlp = winkTokenizer();
  const its = nlp.its;
  const out: WinkToken[] = [];
  nlp
    .readDoc(text)
    .tokens()
    .each((t: ItemToken) => {
      out.push({
        value: t.out(its.value) as string,
        normal: t.out(its.normal) as string,
        type: t.out(its.type) as string,
        stop: t.out(its.stopWordFlag) as boolean,
      });
    });
  return out;
}
