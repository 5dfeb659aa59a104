/**
 * Which sequence lengths may share a padded batch. Every member is padded to
 * the longest, so the rule bounds the waste: the longest is at most
 * MAX_LENGTH_RATIO times the shortest, so at most 1 - 1/1.5 = a third of a
 * batch's positions are padding. Sequences up to SHORT_SEQUENCE tokens join
 * whatever their lengths (under 16 padded positions a row): padding them
 * costs less than another run.
 * Head-anchored rather than fixed buckets, so lengths either side of a
 * boundary (16 and 17) still meet.
 */
export const MAX_LENGTH_RATIO = 1.5;
export const SHORT_SEQUENCE = 16;

/**
 * @example
 * withinPaddingBound(40, 60) // true: 60 ≤ 1.5 × 40
 * withinPaddingBound(3, 16)  // true: short sequences always join
 * withinPaddingBound(20, 31) // false
 */
export const withinPaddingBound = (shortest: number, longest: number): boolean =>
  longest <= Math.max(SHORT_SEQUENCE, MAX_LENGTH_RATIO * shortest);
