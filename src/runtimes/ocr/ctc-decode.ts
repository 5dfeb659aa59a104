/*
 * Greedy CTC decoding of a PaddleOCR recognition output that keeps where each character was
 * read, so spaces can be rebuilt from positions and confusable characters re-ranked from the
 * per-step class probabilities. Pure functions over one line's [steps x classes] matrix.
 */

/** One line's recognizer output: `probs[t * classes + c]` is class c's probability at step t. */
export interface CtcMatrix {
  probs: Float32Array;
  steps: number;
  classes: number;
}

/** The recognizer's classes: 0 is the CTC blank, then the dictionary, then (PaddleOCR) a space. */
export type CtcAlphabet = readonly string[];

export interface DecodedChar {
  char: string;
  classId: number;
  /** First and last time step (inclusive) where this character was the best class. */
  start: number;
  end: number;
  /** Highest probability over its steps. */
  confidence: number;
}

/** `['', ...dictionary, ' ']`: index = class id. */
export function ctcAlphabet(dictionary: readonly string[]): CtcAlphabet {
  return ['', ...dictionary, ' '];
}

/** Best class per step, merging repeats and dropping blanks; spaces are kept as characters. */
export function greedyDecode(m: CtcMatrix, alphabet: CtcAlphabet): DecodedChar[] {
  const out: DecodedChar[] = [];
  let prev = -1;
  for (let t = 0; t < m.steps; t++) {
    const row = t * m.classes;
    let best = 0;
    let bestP = m.probs[row]!;
    for (let c = 1; c < m.classes; c++) {
      const p = m.probs[row + c]!;
      if (p > bestP) { bestP = p; best = c; }
    }
    if (best !== 0) {
      const last = out.at(-1);
      if (best === prev && last) {
        last.end = t;
        last.confidence = Math.max(last.confidence, bestP);
      } else {
        out.push({ char: alphabet[best] ?? '', classId: best, start: t, end: t, confidence: bestP });
      }
    }
    prev = best;
  }
  return out;
}

/** Letters and digits that recognizers swap on printed text, both ways. */
const CONFUSABLE: Record<string, string> = {
  l: '1', I: '1', '|': '1', i: '1', O: '0', o: '0', D: '0', Q: '0', S: '5', s: '5', B: '8', Z: '2', z: '2', G: '6', b: '6', g: '9', q: '9', T: '7',
};
const PARTNERS = new Map<string, string[]>();
for (const [letter, digit] of Object.entries(CONFUSABLE)) {
  PARTNERS.set(letter, [...(PARTNERS.get(letter) ?? []), digit]);
  PARTNERS.set(digit, [...(PARTNERS.get(digit) ?? []), letter]);
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLetter = (c: string) => /\p{L}/u.test(c);
const isAlnum = (c: string) => isDigit(c) || isLetter(c);

/**
 * A confusable partner replaces the read character when its probability, at any step of the
 * character's span, is at least this fraction of the read character's: a close second.
 */
export const CONFUSION_RATIO = 0.1;

/**
 * Re-ranks digit/letter confusions from context. Inside a run of letters and digits (a "word"
 * split at spaces and punctuation; a single character looks at its whole space-separated
 * token instead) that is otherwise numeric (digits, no letters), a letter whose digit partner
 * (l/I/|->1, O/o->0, S->5, B->8, Z->2, G->6, g->9...) was a close second becomes that digit:
 * `$l2.50` -> `$12.50`. Inside a run that is otherwise alphabetic, a digit whose letter partner
 * was a close second becomes that letter: `0slo` -> `Oslo`. Mixed runs (`B12`, `INV-0583`'s
 * `INV`) are left as read. A partner the recognizer gave almost no probability never wins.
 */
export function fixConfusions(chars: DecodedChar[], m: CtcMatrix, alphabet: CtcAlphabet): DecodedChar[] {
  const classOf = new Map<string, number>();
  alphabet.forEach((c, i) => { if (i > 0 && !classOf.has(c)) classOf.set(c, i); });
  const out = chars.map((c) => ({ ...c }));
  for (let i = 0; i < out.length; i++) {
    const ch = out[i]!;
    const partners = PARTNERS.get(ch.char);
    if (!partners) continue;
    const context = contextOf(out, i);
    const digits = context.filter(isDigit).length;
    const letters = context.filter(isLetter).length;
    let want: ((c: string) => boolean) | undefined;
    if (digits > 0 && letters === 0 && isLetter(ch.char)) want = isDigit;
    else if (letters > 0 && digits === 0 && isDigit(ch.char)) want = isLetter;
    if (!want) continue;
    let best: { classId: number; p: number } | undefined;
    for (const partner of partners) {
      const id = classOf.get(partner);
      if (id === undefined || !want(partner)) continue;
      for (let t = ch.start; t <= ch.end; t++) {
        const p = m.probs[t * m.classes + id]!;
        if (!best || p > best.p) best = { classId: id, p };
      }
    }
    if (best && best.p >= CONFUSION_RATIO * ch.confidence) {
      out[i] = { ...ch, char: alphabet[best.classId]!, classId: best.classId };
    }
  }
  return out;
}

/** The other characters of i's alphanumeric run, or of its space-separated token when the run is i alone. */
function contextOf(chars: DecodedChar[], i: number): string[] {
  const around = (stop: (c: string) => boolean) => {
    let a = i;
    let b = i;
    while (a > 0 && !stop(chars[a - 1]!.char)) a--;
    while (b < chars.length - 1 && !stop(chars[b + 1]!.char)) b++;
    return chars.slice(a, b + 1).filter((_, k) => a + k !== i).map((c) => c.char);
  };
  const run = around((c) => !isAlnum(c));
  return run.length ? run : around((c) => c === ' ');
}

export interface SpacingOptions {
  /**
   * Centres (in time steps, fractional) of the blank stretches in the line image wide enough to
   * be word spaces. When given, they decide the spaces; when undefined (no clean ink profile),
   * the gaps between the characters' own time steps do.
   */
  spaceCentres?: number[];
  /** Without spaceCentres: a step gap wider than this many times the line's median gap is a space. */
  gapRatio?: number;
}

const centreOf = (c: DecodedChar) => (c.start + c.end + 1) / 2;

export interface DecodedWord {
  text: string;
  /** Mean character confidence. */
  confidence: number;
  /** First step of its first character and last step of its last. */
  start: number;
  end: number;
}

/**
 * The line's words, spaces rebuilt from positions. PP-OCR's Chinese+English model often drops
 * its space class between Latin words (and after punctuation), but each character's time step
 * says where it was read: a space goes between two characters when a blank stretch of the image
 * wide enough to be a word space lies between their centres. Spaces the recognizer did emit are
 * kept (as PaddleOCR's word-box mode splits on them). Without an ink profile, a gap between the
 * characters' steps much longer than the line's median one is a space (a weaker cue: peaks sit
 * a character's width apart, so wide letters look like gaps).
 */
export function spacedWords(chars: DecodedChar[], options: SpacingOptions = {}): DecodedWord[] {
  const { spaceCentres } = options;
  const ink = chars.filter((c) => c.char !== ' ');
  const gaps: number[] = [];
  for (let i = 1; i < ink.length; i++) gaps.push(ink[i]!.start - ink[i - 1]!.end);
  const typical = Math.max(1, median(gaps) ?? 1);
  const gapRatio = options.gapRatio ?? 2.5;
  const positional = (a: DecodedChar, b: DecodedChar) =>
    spaceCentres
      ? spaceCentres.some((x) => x > centreOf(a) && x < centreOf(b))
      : b.start - a.end > gapRatio * typical;
  const words: DecodedChar[][] = [];
  let pendingSpace = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c.char === ' ') { pendingSpace = true; continue; }
    const prev = words.at(-1)?.at(-1);
    const inferred = () => positional(prev!, c) && !glued(prev!.char, c.char, words.at(-1)!.at(-2)?.char, nextInk(chars, i)?.char);
    if (!prev || pendingSpace || inferred()) words.push([c]);
    else words.at(-1)!.push(c);
    pendingSpace = false;
  }
  return words.map((w) => ({
    text: w.map((c) => c.char).join(''),
    confidence: w.reduce((s, c) => s + c.confidence, 0) / w.length,
    start: w[0]!.start,
    end: w.at(-1)!.end,
  }));
}

const CLOSING = new Set([...'.,:;!?)]}%']);
const OPENING = new Set([...'([{$']);
const DIGIT = /^[0-9]$/;

/**
 * Blank stretches the typography puts where no space is typed: before closing punctuation and
 * after opening (a monospace font centres '.' in a full cell), and around the separator of a
 * number (1503.22, 14:30). Only positional spaces are vetoed, never the recognizer's own.
 */
function glued(prev: string, next: string, beforePrev: string | undefined, afterNext: string | undefined): boolean {
  if (CLOSING.has(next) || OPENING.has(prev)) return true;
  const separator = (c: string) => c === '.' || c === ',' || c === ':';
  // digit|sep digit  or  digit sep|digit
  return (separator(next) && DIGIT.test(prev) && DIGIT.test(afterNext ?? ''))
    || (separator(prev) && DIGIT.test(next) && DIGIT.test(beforePrev ?? ''));
}

function nextInk(chars: DecodedChar[], i: number): DecodedChar | undefined {
  for (let k = i + 1; k < chars.length; k++) if (chars[k]!.char !== ' ') return chars[k];
  return undefined;
}

/** The words joined by single spaces. */
export function spacedText(chars: DecodedChar[], options: SpacingOptions = {}): string {
  return spacedWords(chars, options).map((w) => w.text).join(' ');
}

function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
