import { voteLine, type LineReading } from './line-vote.js';
import { inReadingOrder, type OcrEngine, type OcrEngineName, type RecognizedLine, type RecognizedWord } from './ocr-engine.js';
import type { PreparedImage } from './prepare-image.js';

/*
 * `auto`: Tesseract first on the whole image (fast; best on documents, reads word spacing from
 * the layout). When it finds no text, or reads what it found with low confidence (photos,
 * textured or curved text), PaddleOCR reads the whole image too and the two are merged line by
 * line. Otherwise PaddleOCR re-reads only the lines holding a doubtful Tesseract word, on
 * Tesseract's boxes. Two readings of one line are combined by a character-level vote
 * (line-vote.ts), Tesseract deciding word spacing by default (AUTO_TUNING.spacing).
 */

export const AUTO_TUNING = {
  /** Below this character-weighted mean confidence over the page (or with no text), run PaddleOCR on the whole page. */
  pageConfidence: 0.75,
  /** A Tesseract word below this makes its line doubtful: PaddleOCR re-reads the line. */
  wordConfidence: 0.8,
  /**
   * PaddleOCR's confidences are scaled by this before voting: its CTC mean sits near 1 even on
   * its misreadings (O/0, dropped spaces), while Tesseract's word confidence tops out near 0.96.
   */
  paddleTrust: 0.96,
  /** A Tesseract line no PaddleOCR line overlaps is kept (whole-page merge) only at this confidence. */
  unmatchedTesseract: 0.85,
  /** Two lines are the same line when their boxes' intersection covers this much of the smaller. */
  sameLineOverlap: 0.5,
  /**
   * Who decides stretches that differ only in spaces: 'tesseract' (word gaps measured on the
   * page) or 'vote' (by confidence, like any other stretch). On the eval set with the current
   * PaddleOCR spacing, 'vote' scored 0.19% document CER against 0.31%; 'tesseract' is kept as the
   * default because PaddleOCR's spaces are inferred from CTC timing and were unreliable before.
   */
  spacing: 'tesseract' as 'tesseract' | 'vote',
};

const xs = (box: number[][]) => box.map((p) => p[0]!);
const ys = (box: number[][]) => box.map((p) => p[1]!);

/** Characters excluding spaces, the weight of a line in page-level means. */
const inked = (text: string) => text.replace(/\s+/g, '').length;

/** Character-weighted mean confidence of lines; 0 when there are none. */
export function pageConfidence(lines: readonly RecognizedLine[]): number {
  const chars = lines.reduce((n, l) => n + inked(l.text), 0);
  return chars ? lines.reduce((s, l) => s + l.confidence * inked(l.text), 0) / chars : 0;
}

/** True when a line holds a word (or, without words, is itself) below the word threshold. */
export function isDoubtful(line: RecognizedLine, wordConfidence = AUTO_TUNING.wordConfidence): boolean {
  return line.words?.length ? line.words.some((w) => w.confidence < wordConfidence) : line.confidence < wordConfidence;
}

/** Intersection of the boxes' bounding rectangles over the smaller rectangle's area. */
export function boxOverlap(a: number[][], b: number[][]): number {
  const [ax0, ax1, ay0, ay1] = [Math.min(...xs(a)), Math.max(...xs(a)), Math.min(...ys(a)), Math.max(...ys(a))];
  const [bx0, bx1, by0, by1] = [Math.min(...xs(b)), Math.max(...xs(b)), Math.min(...ys(b)), Math.max(...ys(b))];
  const w = Math.min(ax1, bx1) - Math.max(ax0, bx0);
  const h = Math.min(ay1, by1) - Math.max(ay0, by0);
  if (w <= 0 || h <= 0) return 0;
  const smaller = Math.min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0));
  return smaller > 0 ? (w * h) / smaller : 0;
}

const scaled = (line: RecognizedLine, factor: number): LineReading => ({
  text: line.text,
  confidence: line.confidence * factor,
  words: line.words?.map((w) => ({ text: w.text, confidence: w.confidence * factor })),
});

/** The words of whichever reading the voted text equals; else the base's boxes relabelled when the word count matches. */
function votedWords(text: string, base: RecognizedLine, other: RecognizedLine): RecognizedWord[] | undefined {
  if (text === base.text) return base.words;
  if (text === other.text) return other.words;
  const parts = text.split(' ');
  if (base.words && base.words.length === parts.length) return base.words.map((w, k) => ({ ...w, text: parts[k]! }));
  return undefined;
}

/**
 * One line from Tesseract's and PaddleOCR's readings of it: the character vote, Tesseract
 * deciding spacing. `base` gives the box; the line is credited to the engine that supplied more
 * of the characters where the two differed (the base's engine when they agree).
 */
export function combineReadings(tesseract: RecognizedLine, paddle: RecognizedLine, base: OcrEngineName, tuning = AUTO_TUNING): RecognizedLine {
  if (!paddle.text) return tesseract;
  if (!tesseract.text) return paddle;
  const voted = voteLine(scaled(tesseract, 1), scaled(paddle, tuning.paddleTrust), tuning.spacing === 'tesseract' ? { spacingFrom: 'a' } : {});
  const engine: OcrEngineName = voted.fromA > voted.fromB ? 'tesseract' : voted.fromB > voted.fromA ? 'paddle' : base;
  const [baseLine, otherLine] = base === 'tesseract' ? [tesseract, paddle] : [paddle, tesseract];
  const words = votedWords(voted.text, baseLine, otherLine);
  return { text: voted.text, confidence: voted.confidence, box: baseLine.box, engine, ...(words ? { words } : {}) };
}

/** Tesseract's lines with the doubtful ones voted against PaddleOCR's reading of the same boxes (in order). */
export function mergeRereads(tesseract: readonly RecognizedLine[], doubtful: readonly number[], rereads: readonly RecognizedLine[], tuning = AUTO_TUNING): RecognizedLine[] {
  const lines = [...tesseract];
  doubtful.forEach((index, k) => {
    const paddle = rereads[k];
    if (paddle) lines[index] = combineReadings(lines[index]!, paddle, 'tesseract', tuning);
  });
  return lines;
}

/**
 * Both engines' whole-page readings as one: each PaddleOCR line (its detection is the one to
 * trust on scenes) is voted with the Tesseract line overlapping it most, if any; Tesseract
 * lines left over are kept only when confident (PaddleOCR missed them, or they are noise).
 */
export function mergePages(paddle: readonly RecognizedLine[], tesseract: readonly RecognizedLine[], tuning = AUTO_TUNING): RecognizedLine[] {
  const used = new Set<number>();
  const lines: RecognizedLine[] = [];
  for (const p of paddle) {
    let best = -1;
    let bestOverlap = tuning.sameLineOverlap;
    tesseract.forEach((t, k) => {
      const overlap = boxOverlap(p.box, t.box);
      if (!used.has(k) && overlap >= bestOverlap) [best, bestOverlap] = [k, overlap];
    });
    if (best < 0) {
      lines.push(p);
      continue;
    }
    used.add(best);
    lines.push(combineReadings(tesseract[best]!, p, 'paddle', tuning));
  }
  tesseract.forEach((t, k) => {
    if (!used.has(k) && t.confidence >= tuning.unmatchedTesseract) lines.push(t);
  });
  return inReadingOrder(lines);
}

export function createAutoEngine(paddle: OcrEngine, tesseract: OcrEngine, tuning = AUTO_TUNING): OcrEngine {
  return {
    name: 'auto',

    async recognize(image: PreparedImage): Promise<RecognizedLine[]> {
      const read = await tesseract.recognize(image);
      if (pageConfidence(read) < tuning.pageConfidence || !paddle.readBoxes) {
        return mergePages(await paddle.recognize(image), read, tuning);
      }
      const doubtful = read.flatMap((line, k) => (isDoubtful(line, tuning.wordConfidence) ? [k] : []));
      if (!doubtful.length) return read;
      const rereads = await paddle.readBoxes(image, doubtful.map((k) => read[k]!.box));
      return mergeRereads(read, doubtful, rereads, tuning);
    },

    /** Both engines read each box; the vote decides (Tesseract first, PaddleOCR only when needed). */
    async readBoxes(image: PreparedImage, boxes: number[][][]): Promise<RecognizedLine[]> {
      if (!tesseract.readBoxes || !paddle.readBoxes) throw new Error('ocr: auto needs both engines to read boxes');
      const read = await tesseract.readBoxes(image, boxes);
      const doubtful = read.flatMap((line, k) => (!line.text || isDoubtful(line, tuning.wordConfidence) ? [k] : []));
      if (!doubtful.length) return read;
      const rereads = await paddle.readBoxes(image, doubtful.map((k) => boxes[k]!));
      return mergeRereads(read, doubtful, rereads, tuning);
    },

    async dispose() {
      await Promise.all([paddle.dispose(), tesseract.dispose()]);
    },
  };
}
