/**
 * Reciprocal rank fusion (Cormack, Clarke & Buettcher 2009): combine rankings
 * that score on incomparable scales by their ranks alone,
 *
 *   rrf(c) = sum over rankings r of 1 / (k + rank_r(c))
 *
 * then divided by its largest possible value (rank 1 everywhere), so the fused
 * score is in (0, 1] and equals 1 only for an item every ranking puts first.
 */

/**
 * Ranks (1 = best) from scores, higher score first. Equal scores share the
 * better rank ("1224" competition ranking), so ties do not favour either item.
 */
export function ranksOf(scores: ReadonlyMap<string, number>): Map<string, number> {
  const sorted = [...scores].sort((a, b) => b[1] - a[1]);
  const ranks = new Map<string, number>();
  sorted.forEach(([item, score], i) => {
    const prev = sorted[i - 1];
    ranks.set(item, prev && prev[1] === score ? ranks.get(prev[0])! : i + 1);
  });
  return ranks;
}

/** Default k. 60 is the paper's choice for long result lists; keyterm lists are short, so a smaller k keeps rank differences visible in the score. */
export const DEFAULT_RRF_K = 10;

/**
 * Fuses rankings (item -> rank, 1 = best). An item missing from a ranking
 * gets nothing from it. Returns item -> fused score in (0, 1].
 */
export function reciprocalRankFusion(rankings: readonly ReadonlyMap<string, number>[], k = DEFAULT_RRF_K): Map<string, number> {
  if (!(k >= 0)) throw new Error(`invalid RRF k ${k}: must be >= 0`);
  const fused = new Map<string, number>();
  for (const ranking of rankings) {
    for (const [item, rank] of ranking) fused.set(item, (fused.get(item) ?? 0) + 1 / (k + rank));
  }
  const best = rankings.length / (k + 1);
  for (const [item, score] of fused) fused.set(item, score / best);
  return fused;
}
