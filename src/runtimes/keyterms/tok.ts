/** One token of a sentence, as the keyterm candidate rules see it. */
export interface Tok {
  /** Lower-cased normal form (a hyphenated compound: its parts joined by "-"). */
  normal: string;
  /** Lower-cased lemma ("holes" -> "hole"; a compound: its parts' lemmas joined by "-"). */
  lemma: string;
  pos: string;
  type: string;
  stop: boolean;
  /** Capitalized where sentence-initial position does not explain it, or an acronym. */
  cased: boolean;
  /** Offset in the whole text (a compound: its first part's). */
  at: number;
}

export const NOUNS: ReadonlySet<string> = new Set(['NOUN', 'PROPN']);
export const isNoun = (t: Tok | undefined): boolean => t !== undefined && NOUNS.has(t.pos);
