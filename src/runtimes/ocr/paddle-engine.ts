import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
// Importing the node package registers its sharp/onnxruntime backend, which the box finder needs.
import '@gutenye/ocr-node';
import { splitIntoLineImages } from '@gutenye/ocr-common/splitIntoLineImages';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { RuntimeEnv } from '../runtime.js';
import { ctcAlphabet, fixConfusions, greedyDecode, spacedWords, type CtcAlphabet, type CtcMatrix } from './ctc-decode.js';
import type { OcrEngine, RecognizedLine, RecognizedWord } from './ocr-engine.js';
import type { PreparedImage } from './prepare-image.js';

/*
 * PaddleOCR (PP-OCR det + rec, no angle classifier) on onnxruntime-node. Detection and its box
 * post-processing (DB threshold map -> contours -> unclipped quads) follow @gutenye/ocr-node;
 * recognition is our own: each quad is cropped with some horizontal margin (the unclipped box can
 * end right at a final full stop), scaled to height 48, normalised as PaddleOCR trains it, and
 * CTC-decoded keeping each character's time steps, from which spaces and word boxes are rebuilt
 * (ctc-decode.ts). Boxes on one row are then joined into a line with one space between them.
 */

export interface PaddleModelFiles {
  detectionPath: string;
  recognitionPath: string;
  dictionaryPath: string;
}

export interface PaddleEngineOptions {
  /** Drop detected boxes read with lower mean character confidence (0..1). Default 0.5. */
  minConfidence?: number;
}

/** Recognition input height of PP-OCRv3/v4. */
const REC_HEIGHT = 48;
/** Margin added left and right of each box before reading it, as a fraction of its height. */
const CROP_MARGIN = 0.25;
/**
 * Narrowest blank stretch (in 48-high crop pixels) that is a word space. Measured on DejaVu Sans
 * and Serif at 20-48 px: gaps inside words are at most ~11, spaces (also after punctuation) 20+.
 */
const SPACE_WIDTH = 15;
/** Probability above which a detection-map pixel is text (as @gutenye/ocr-common). */
const DET_THRESHOLD = 0.03;

/** The dictionary as PaddleOCR reads it: one class per line (CRLF and a final newline tolerated). */
export function dictionaryEntries(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
}

export function onnxSessionOptions(env: RuntimeEnv): ort.InferenceSession.SessionOptions {
  // One worker per core already parallelises across requests (see the onnx runtime).
  return { intraOpNumThreads: Math.max(1, env.threads), interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
}

/**
 * OpenCV.js (the box post-processing) compiles its WebAssembly asynchronously after import and
 * nothing waits for it: using it right after a fast load would fail with "cv.Mat is not a
 * constructor". Resolve it the way @gutenye/ocr-common does and wait.
 */
async function openCvReady(timeoutMs = 60_000): Promise<void> {
  const fromNode = createRequire(createRequire(import.meta.url).resolve('@gutenye/ocr-node'));
  const fromCommon = createRequire(fromNode.resolve('@gutenye/ocr-common'));
  const cv = fromCommon('@techstark/opencv-js') as { Mat?: unknown };
  const deadline = Date.now() + timeoutMs;
  while (typeof cv.Mat !== 'function') {
    if (Date.now() > deadline) throw new Error('ocr: OpenCV.js did not initialise');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The prepared image as RGBA pixels (what the box finder's OpenCV wants). */
interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

async function pixelsOf(image: PreparedImage): Promise<Pixels> {
  const { data, info } = await sharp(image.png).ensureAlpha(1).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export async function createPaddleEngine(files: PaddleModelFiles, env: RuntimeEnv, options: PaddleEngineOptions = {}): Promise<OcrEngine> {
  const cvReady = openCvReady();
  cvReady.catch(() => undefined); // awaited below; don't let an early failure leave it unhandled
  const dictionary = dictionaryEntries(await readFile(files.dictionaryPath, 'utf8'));
  const sessionOptions = onnxSessionOptions(env);
  const detection = await ort.InferenceSession.create(files.detectionPath, sessionOptions);
  const recognition = await ort.InferenceSession.create(files.recognitionPath, sessionOptions).catch(async (err) => {
    await detection.release();
    throw err;
  });
  await cvReady;
  return new PaddleEngine(detection, recognition, ctcAlphabet(dictionary), options.minConfidence ?? 0.5);
}

class PaddleEngine implements OcrEngine {
  readonly name = 'paddle' as const;
  #sessions: { detection: ort.InferenceSession; recognition: ort.InferenceSession } | undefined;

  constructor(
    detection: ort.InferenceSession,
    recognition: ort.InferenceSession,
    private readonly alphabet: CtcAlphabet,
    private readonly minConfidence: number,
  ) {
    this.#sessions = { detection, recognition };
  }

  async recognize(image: PreparedImage): Promise<RecognizedLine[]> {
    const pixels = await pixelsOf(image);
    const boxes = await this.#detect(pixels);
    const read: RecognizedLine[] = [];
    for (const box of boxes) {
      const line = await this.#read(pixels, box);
      if (line.text && line.confidence >= this.minConfidence) read.push(line);
    }
    return joinRows(read);
  }

  async readBoxes(image: PreparedImage, boxes: number[][][]): Promise<RecognizedLine[]> {
    const pixels = await pixelsOf(image);
    const lines: RecognizedLine[] = [];
    for (const box of boxes) lines.push(await this.#read(pixels, box));
    return lines;
  }

  async dispose(): Promise<void> {
    const sessions = this.#sessions;
    this.#sessions = undefined;
    if (sessions) await Promise.all([sessions.detection.release(), sessions.recognition.release()]);
  }

  #live() {
    if (!this.#sessions) throw new Error('ocr: the paddle engine has been disposed');
    return this.#sessions;
  }

  /** Text quads, corner points clockwise from top-left, in the image's pixels. */
  async #detect(pixels: Pixels): Promise<number[][][]> {
    const { detection } = this.#live();
    const { width, height, data } = pixels;
    const plane = width * height;
    // BGR in [0, 1], as @gutenye/ocr-common feeds it (its threshold is tuned for this).
    const input = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      input[i] = data[4 * i + 2]! / 255;
      input[plane + i] = data[4 * i + 1]! / 255;
      input[2 * plane + i] = data[4 * i]! / 255;
    }
    const outputs = await detection.run({ [detection.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) });
    const map = outputs[detection.outputNames[0]!]!;
    const [mapH, mapW] = [map.dims[2]!, map.dims[3]!];
    const probs = map.data as Float32Array;
    const binary = new Uint8Array(mapW * mapH * 4);
    for (let i = 0; i < mapW * mapH; i++) {
      const v = probs[i]! > DET_THRESHOLD ? 255 : 0;
      binary[4 * i] = v;
      binary[4 * i + 1] = v;
      binary[4 * i + 2] = v;
      binary[4 * i + 3] = 255;
    }
    type SplitArgs = Parameters<typeof splitIntoLineImages>;
    const found = await splitIntoLineImages(
      { data: binary, width: mapW, height: mapH } as unknown as SplitArgs[0],
      pixels as unknown as SplitArgs[1],
    );
    return found.map((f) => orderClockwise(f.box));
  }

  /** Recognition of one quad. */
  async #read(pixels: Pixels, box: number[][]): Promise<RecognizedLine> {
    const { recognition } = this.#live();
    const crop = cropLine(pixels, box);
    const outputs = await recognition.run({ [recognition.inputNames[0]!]: new ort.Tensor('float32', crop.data, [1, 3, REC_HEIGHT, crop.width]) });
    const out = outputs[recognition.outputNames[0]!]!;
    const matrix: CtcMatrix = { probs: out.data as Float32Array, steps: out.dims[1]!, classes: out.dims[2]! };
    const chars = fixConfusions(greedyDecode(matrix, this.alphabet), matrix, this.alphabet);
    const stepWidth = crop.width / matrix.steps;
    const spaceCentres = wordSpaces(crop)?.map(([from, to]) => (from + to) / 2 / stepWidth);
    const words: RecognizedWord[] = spacedWords(chars, { spaceCentres }).map((w) => ({
      text: w.text,
      confidence: w.confidence,
      box: crop.subBox(w.start / matrix.steps, (w.end + 1) / matrix.steps),
    }));
    const inked = chars.filter((c) => c.char !== ' ');
    const confidence = inked.length ? inked.reduce((s, c) => s + c.confidence, 0) / inked.length : 0;
    return { text: words.map((w) => w.text).join(' '), confidence: Math.min(1, confidence), box, engine: 'paddle', words };
  }
}

type Point = [number, number];

/** Corners as [top-left, top-right, bottom-right, bottom-left] (by x+y and y-x extremes). */
function orderClockwise(box: number[][]): number[][] {
  const pts = box.map(([x = 0, y = 0]) => [x, y] as Point);
  const bySum = [...pts].sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
  const tl = bySum[0]!;
  const br = bySum[3]!;
  const [p, q] = bySum.slice(1, 3) as [Point, Point];
  const [tr, bl] = p[1] - p[0] < q[1] - q[0] ? [p, q] : [q, p];
  return [tl, tr, br, bl];
}

const lerp = (a: Point, b: Point, s: number): Point => [a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s];
const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

interface LineCrop {
  /** [3, 48, width] BGR, (x/255 - 0.5) / 0.5 as PaddleOCR normalises recognition input. */
  data: Float32Array;
  width: number;
  /** The part of the original quad between two fractions of the crop's width. */
  subBox(from: number, to: number): number[][];
}

/**
 * Samples the quad (plus a margin left and right, clipped to the image) straight into the
 * recognizer's input: height 48, aspect kept, each output pixel the mean of a small grid of
 * bilinear samples so large text is averaged rather than aliased. A quad taller than wide is
 * vertical text and is read turned a quarter counter-clockwise (as PaddleOCR does).
 */
function cropLine(pixels: Pixels, box: number[][]): LineCrop {
  let [tl, tr, br, bl] = box.map(([x = 0, y = 0]) => [x, y] as Point) as [Point, Point, Point, Point];
  if (Math.max(dist(tl, bl), dist(tr, br)) >= 1.5 * Math.max(dist(tl, tr), dist(bl, br))) [tl, tr, br, bl] = [tr, br, bl, tl];
  const boxW = Math.max(1, dist(tl, tr), dist(bl, br));
  const boxH = Math.max(1, dist(tl, bl), dist(tr, br));
  // Extend along the text direction by the margin, but not beyond the image.
  const margin = CROP_MARGIN * boxH;
  const inImage = (p: Point) => p[0] >= 0 && p[1] >= 0 && p[0] <= pixels.width - 1 && p[1] <= pixels.height - 1;
  let left = margin / boxW;
  let right = margin / boxW;
  while (left > 0 && !(inImage(lerp(tl, tr, -left)) && inImage(lerp(bl, br, -left)))) left = Math.max(0, left - 0.25 / boxW);
  while (right > 0 && !(inImage(lerp(tl, tr, 1 + right)) && inImage(lerp(bl, br, 1 + right)))) right = Math.max(0, right - 0.25 / boxW);
  const top0 = lerp(tl, tr, -left);
  const top1 = lerp(tl, tr, 1 + right);
  const bot0 = lerp(bl, br, -left);
  const bot1 = lerp(bl, br, 1 + right);
  const span = 1 + left + right;
  const width = Math.max(REC_HEIGHT / 2, Math.round((REC_HEIGHT * boxW * span) / boxH));
  const grid = Math.max(1, Math.min(4, Math.ceil(boxH / REC_HEIGHT)));
  const plane = REC_HEIGHT * width;
  const data = new Float32Array(3 * plane);
  const { data: px, width: W, height: H } = pixels;
  const samples = grid * grid;
  // One output column's (b, g, r) sums per row, reused so sampling allocates nothing.
  const column = new Float64Array(3 * REC_HEIGHT);
  const addSample = (x: number, y: number, at: number) => {
    // Pixel centres sit at +0.5; clamp to the image (the margin was already kept inside it).
    const cx = Math.min(W - 1, Math.max(0, x - 0.5));
    const cy = Math.min(H - 1, Math.max(0, y - 0.5));
    const x0 = Math.floor(cx);
    const y0 = Math.floor(cy);
    const x1 = Math.min(W - 1, x0 + 1);
    const y1 = Math.min(H - 1, y0 + 1);
    const fx = cx - x0;
    const fy = cy - y0;
    const w00 = (1 - fx) * (1 - fy);
    const w01 = fx * (1 - fy);
    const w10 = (1 - fx) * fy;
    const w11 = fx * fy;
    const i00 = 4 * (y0 * W + x0);
    const i01 = 4 * (y0 * W + x1);
    const i10 = 4 * (y1 * W + x0);
    const i11 = 4 * (y1 * W + x1);
    for (let c = 0; c < 3; c++) {
      // RGBA in, BGR out.
      column[at + 2 - c] += px[i00 + c]! * w00 + px[i01 + c]! * w01 + px[i10 + c]! * w10 + px[i11 + c]! * w11;
    }
  };
  for (let u = 0; u < width; u++) {
    column.fill(0);
    for (let gx = 0; gx < grid; gx++) {
      const s = (u + (gx + 0.5) / grid) / width;
      const [tx, ty] = lerp(top0, top1, s);
      const [bx, by] = lerp(bot0, bot1, s);
      for (let v = 0; v < REC_HEIGHT; v++) {
        for (let gy = 0; gy < grid; gy++) {
          const t = (v + (gy + 0.5) / grid) / REC_HEIGHT;
          addSample(tx + (bx - tx) * t, ty + (by - ty) * t, 3 * v);
        }
      }
    }
    for (let v = 0; v < REC_HEIGHT; v++) {
      const i = v * width + u;
      // PaddleOCR's (x / 255 - 0.5) / 0.5.
      data[i] = column[3 * v]! / samples / 127.5 - 1;
      data[plane + i] = column[3 * v + 1]! / samples / 127.5 - 1;
      data[2 * plane + i] = column[3 * v + 2]! / samples / 127.5 - 1;
    }
  }
  const subBox = (from: number, to: number): number[][] => {
    const at = (f: number) => Math.min(span, Math.max(0, f * span));
    const [a, b] = [at(from), at(to)];
    return [lerp(top0, top1, a / span), lerp(top0, top1, b / span), lerp(bot0, bot1, b / span), lerp(bot0, bot1, a / span)]
      .map(([x, y]) => [Math.round(x), Math.round(y)]);
  };
  return { data, width, subBox };
}

/**
 * Runs of ink-free columns at least SPACE_WIDTH wide between the first and last inked column of
 * a crop, [from, to) in crop pixels; undefined when the crop has no clear ink (low contrast). A
 * column is inked when a pixel in it is halfway from the background (the crop's median
 * brightness) to the ink (its 1st or 99th percentile, whichever differs more).
 */
function wordSpaces(crop: LineCrop): [number, number][] | undefined {
  const { data, width } = crop;
  const plane = REC_HEIGHT * width;
  const grey = new Float32Array(plane);
  for (let i = 0; i < plane; i++) grey[i] = (data[i]! + data[plane + i]! + data[2 * plane + i]!) / 3;
  const sorted = Float32Array.from(grey).sort();
  // Background is the median; ink is whichever extreme lies farther from it (dark on light, or
  // light text on a dark background).
  const background = sorted[plane >> 1]!;
  const darkest = sorted[Math.floor(0.01 * (plane - 1))]!;
  const brightest = sorted[Math.floor(0.99 * (plane - 1))]!;
  const darkInk = background - darkest >= brightest - background;
  const ink = darkInk ? darkest : brightest;
  if (Math.abs(background - ink) < 0.4) return undefined;
  const threshold = (background + ink) / 2;
  const inked: boolean[] = [];
  for (let u = 0; u < width; u++) {
    let hit = false;
    for (let v = 0; v < REC_HEIGHT && !hit; v++) hit = darkInk ? grey[v * width + u]! < threshold : grey[v * width + u]! > threshold;
    inked.push(hit);
  }
  const runs: [number, number][] = [];
  const first = inked.indexOf(true);
  const last = inked.lastIndexOf(true);
  for (let u = first + 1; first >= 0 && u < last; u++) {
    if (inked[u]) continue;
    const from = u;
    while (u < last && !inked[u]) u++;
    if (u - from >= SPACE_WIDTH) runs.push([from, u]);
  }
  return runs;
}

const topOf = (box: number[][]) => Math.min(...box.map((p) => p[1]!));
const bottomOf = (box: number[][]) => Math.max(...box.map((p) => p[1]!));
const leftOf = (box: number[][]) => Math.min(...box.map((p) => p[0]!));

/**
 * Boxes whose vertical midlines are within half the average box height are one row (as
 * @gutenye/ocr-common groups them), joined left to right with one space; rows top to bottom.
 */
export function joinRows(boxes: RecognizedLine[]): RecognizedLine[] {
  if (!boxes.length) return [];
  const avgHeight = boxes.reduce((s, b) => s + bottomOf(b.box) - topOf(b.box), 0) / boxes.length;
  const mid = (b: RecognizedLine) => (topOf(b.box) + bottomOf(b.box)) / 2;
  const rows: RecognizedLine[][] = [];
  for (const b of boxes) {
    const row = rows.find((r) => Math.abs(mid(r[0]!) - mid(b)) < avgHeight / 2);
    if (row) row.push(b);
    else rows.push([b]);
  }
  return rows
    .map((row) => {
      row.sort((a, b) => leftOf(a.box) - leftOf(b.box));
      if (row.length === 1) return row[0]!;
      const first = row[0]!.box;
      const last = row.at(-1)!.box;
      return {
        text: row.map((b) => b.text).join(' '),
        confidence: row.reduce((s, b) => s + b.confidence, 0) / row.length,
        box: [first[0]!, last[1]!, last[2]!, first[3]!],
        engine: 'paddle' as const,
        words: row.flatMap((b) => b.words ?? []),
      };
    })
    .sort((a, b) => topOf(a.box) - topOf(b.box) || leftOf(a.box) - leftOf(b.box));
}
