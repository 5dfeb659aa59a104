import type { PreparedImage } from './prepare-image.js';

/*
 * One OCR engine behind the 'ocr' runtime: PaddleOCR (paddle-engine.ts) or Tesseract
 * (tesseract-engine.ts). `auto` (auto-engine.ts) combines the two per line. Every engine reads
 * the same prepared image (upright, white-flattened, padded PNG) and answers in its pixels;
 * the runtime maps boxes back to the caller's image.
 */

export type OcrEngineName = 'paddle' | 'tesseract';
export type OcrEngineChoice = OcrEngineName | 'auto';
export const OCR_ENGINE_CHOICES: readonly OcrEngineChoice[] = ['auto', 'paddle', 'tesseract'];

export interface RecognizedWord {
  text: string;
  /** 0..1 */
  confidence: number;
  /** Corner points [[x,y] x4], clockwise from top-left, in prepared-image pixels. */
  box: number[][];
}

export interface RecognizedLine {
  /** Words separated by single spaces; punctuation kept as read. */
  text: string;
  /** 0..1: the engine's own line confidence (mean over characters or words). */
  confidence: number;
  /** Corner points [[x,y] x4], clockwise from top-left, in prepared-image pixels. */
  box: number[][];
  /** Which engine read this line (for `auto`, the one whose reading was kept). */
  engine: OcrEngineName;
  /** Words with their own boxes, when the engine knows them. */
  words?: RecognizedWord[];
}

export interface OcrEngine {
  readonly name: OcrEngineName | 'auto';
  /** Lines top to bottom, then left to right. */
  recognize(image: PreparedImage): Promise<RecognizedLine[]>;
  /**
   * Recognition only, on line boxes found by someone else (no detection): one line per box, in
   * the order given; `auto` uses it to have a second engine read just the doubtful lines.
   */
  readBoxes?(image: PreparedImage, boxes: number[][][]): Promise<RecognizedLine[]>;
  /** Frees native memory and worker threads; the engine is unusable after. */
  dispose(): Promise<void>;
}

/** Sorts lines top to bottom, then left to right, by their boxes' top-left extent (in place). */
export function inReadingOrder<T extends { box: number[][] }>(lines: T[]): T[] {
  const top = (l: T) => Math.min(...l.box.map((p) => p[1]!));
  const left = (l: T) => Math.min(...l.box.map((p) => p[0]!));
  return lines.sort((a, b) => top(a) - top(b) || left(a) - left(b));
}
