/*
 * Combines two readings of the same text line into one: align them character by character
 * (edit-distance alignment), keep what they agree on, and where they differ take the differing
 * stretch from the reading more confident there. Pure functions; auto-engine.ts uses them.
 */

export interface LineReading {
  text: string;
  /** 0..1: the whole line's confidence, used where no word confidence is known. */
  confidence: number;
  /** Words in order, as they appear in `text` separated by spaces; their confidences are used per character. */
  words?: readonly { text: string; confidence: number }[];
}

/** A stretch where the readings agree (a === b) or differ (either side may be empty). */
export interface AlignedSegment {
  a: string;
  b: string;
  agree: boolean;
}

export interface VoteOptions {
  /**
   * Take stretches that differ only in whitespace from this reading instead of voting on them:
   * for an engine that segments words from the layout (Tesseract) against one that infers
   * spaces from its character sequence and often drops them (PaddleOCR).
   */
  spacingFrom?: 'a' | 'b';
}

export interface VotedLine {
  text: string;
  /** Mean over the kept characters of their confidence (the higher reading's where both agree). */
  confidence: number;
  /** Characters each reading supplied where they differed, a chosen "nothing" counting 1 (0 and 0 when they agree throughout). */
  fromA: number;
  fromB: number;
}

/**
 * Per-character confidences: each word's confidence for its characters (found in order in the
 * text), the line's for the rest (spaces, or everything when words are unknown or do not match).
 */
export function characterConfidences(reading: LineReading): number[] {
  const chars = Array.from(reading.text);
  const conf = chars.map(() => reading.confidence);
  let at = 0;
  for (const word of reading.words ?? []) {
    const wordChars = Array.from(word.text);
    const found = indexOfSequence(chars, wordChars, at);
    if (found < 0) continue;
    for (let k = 0; k < wordChars.length; k++) conf[found + k] = word.confidence;
    at = found + wordChars.length;
  }
  return conf;
}

function indexOfSequence(haystack: string[], needle: string[], from: number): number {
  if (!needle.length) return -1;
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let k = 0; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** Index ranges of one alignment step in a and b: a match, a substitution, or a gap on one side. */
interface Step { i: number; j: number; di: 0 | 1; dj: 0 | 1 }

/**
 * Minimal edit-distance alignment of a and b (code points) as alternating agreeing and
 * differing segments; adjacent differing steps merge into one segment ("rn" vs "m").
 */
export function alignReadings(a: string, b: string): AlignedSegment[] {
  const x = Array.from(a);
  const y = Array.from(b);
  const cols = y.length + 1;
  const dist = new Uint32Array((x.length + 1) * cols);
  for (let i = 0; i <= x.length; i++) dist[i * cols] = i;
  for (let j = 0; j <= y.length; j++) dist[j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const sub = dist[(i - 1) * cols + j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1);
      dist[i * cols + j] = Math.min(sub, dist[(i - 1) * cols + j]! + 1, dist[i * cols + j - 1]! + 1);
    }
  }
  // Walk back from the end, preferring the diagonal so equal characters pair up.
  const steps: Step[] = [];
  let i = x.length;
  let j = y.length;
  while (i > 0 || j > 0) {
    const here = dist[i * cols + j]!;
    if (i > 0 && j > 0 && here === dist[(i - 1) * cols + j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)) {
      steps.push({ i: i - 1, j: j - 1, di: 1, dj: 1 });
      i--; j--;
    } else if (i > 0 && here === dist[(i - 1) * cols + j]! + 1) {
      steps.push({ i: i - 1, j, di: 1, dj: 0 });
      i--;
    } else {
      steps.push({ i, j: j - 1, di: 0, dj: 1 });
      j--;
    }
  }
  steps.reverse();

  const segments: AlignedSegment[] = [];
  for (const step of steps) {
    const ca = step.di ? x[step.i]! : '';
    const cb = step.dj ? y[step.j]! : '';
    const agree = ca === cb;
    const last = segments.at(-1);
    if (last && last.agree === agree) {
      last.a += ca;
      last.b += cb;
    } else {
      segments.push({ a: ca, b: cb, agree });
    }
  }
  return segments;
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/**
 * How sure a reading is about one differing stretch: the mean of its characters' confidences,
 * or for an empty stretch (it read nothing there), the mean of its neighbours on both sides.
 */
function stretchConfidence(conf: number[], start: number, length: number, fallback: number): number {
  if (length > 0) return mean(conf.slice(start, start + length));
  const around = [conf[start - 1], conf[start]].filter((c): c is number => c !== undefined);
  return around.length ? mean(around) : fallback;
}

const withoutSpaces = (s: string) => s.replace(/\s+/g, '');

/** `chosen` without its own spaces, inside the leading and trailing spaces of `spacing`. */
function respace(chosen: string, spacing: string): string {
  const inner = withoutSpaces(chosen);
  if (!inner) return spacing.trim() ? '' : spacing;
  return (/^\s*/.exec(spacing)?.[0] ?? '') + inner + (/\s*$/.exec(spacing)?.[0] ?? '');
}

/**
 * The character-level vote. Where a and b agree the text is kept; each differing stretch is
 * taken whole from the reading with the higher confidence over it (ties go to a), or, when it
 * differs only in spaces and `spacingFrom` is set, from that reading. Returns the voted text and
 * how many characters each reading supplied where they differed.
 */
export function voteLine(a: LineReading, b: LineReading, options: VoteOptions = {}): VotedLine {
  const confA = characterConfidences(a);
  const confB = characterConfidences(b);
  let text = '';
  const kept: number[] = [];
  let fromA = 0;
  let fromB = 0;
  let ia = 0;
  let ib = 0;
  for (const segment of alignReadings(a.text, b.text)) {
    const lenA = Array.from(segment.a).length;
    const lenB = Array.from(segment.b).length;
    if (segment.agree) {
      text += segment.a;
      for (let k = 0; k < lenA; k++) kept.push(Math.max(confA[ia + k]!, confB[ib + k]!));
    } else {
      const spacing = options.spacingFrom === undefined ? undefined : options.spacingFrom === 'a' ? segment.a : segment.b;
      const takeA = spacing !== undefined && withoutSpaces(segment.a) === withoutSpaces(segment.b)
        ? options.spacingFrom === 'a'
        : stretchConfidence(confA, ia, lenA, a.confidence) >= stretchConfidence(confB, ib, lenB, b.confidence);
      const [chosen, conf, at, len] = takeA ? [segment.a, confA, ia, lenA] : [segment.b, confB, ib, lenB];
      // Characters from the voted reading, the spaces around them from the spacing reading.
      const piece = spacing === undefined || chosen === spacing ? chosen : respace(chosen, spacing);
      text += piece;
      kept.push(...conf.slice(at, at + len));
      // Characters supplied; choosing "nothing here" still counts as one decision.
      const supplied = Array.from(piece).length || 1;
      if (takeA) fromA += supplied;
      else fromB += supplied;
    }
    ia += lenA;
    ib += lenB;
  }
  // Two stretches chosen from different sides can leave doubled or edge spaces.
  const cleaned = text.replace(/ {2,}/g, ' ').trim();
  return { text: cleaned, confidence: kept.length ? mean(kept) : Math.max(a.confidence, b.confidence), fromA, fromB };
}
