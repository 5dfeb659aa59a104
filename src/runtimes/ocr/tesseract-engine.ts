import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { createWorker, OEM, PSM, type Bbox, type Page, type Worker } from 'tesseract.js';
import { inReadingOrder, type OcrEngine, type RecognizedLine, type RecognizedWord } from './ocr-engine.js';
import type { PreparedImage } from './prepare-image.js';

/*
 * Tesseract (LSTM) through tesseract.js: WebAssembly in one worker thread per engine. Language
 * data comes from the npm packages @tesseract.js-data/<lang> in node_modules and is handed to
 * the worker as bytes, so tesseract.js never fetches it (its default is a CDN) nor caches it
 * to the working directory.
 */

export interface TesseractEngineOptions {
  /** A Tesseract language code ('eng', 'deu', 'chi_sim'); needs the npm package @tesseract.js-data/<lang>. Default 'eng'. */
  lang?: string;
  /**
   * Which traineddata of the package: '4.0.0_best_int' (integerised tessdata_best, LSTM only;
   * the default: as accurate here and smaller) or '4.0.0' (tessdata: LSTM + legacy models).
   */
  dataVersion?: '4.0.0_best_int' | '4.0.0';
}

const DEFAULT_DATA_VERSION = '4.0.0_best_int';
const LANG_CODE = /^[a-z][a-z0-9_]*$/i;
/** White margin around a line crop: Tesseract reads a line much better with some room around it. */
const CROP_MARGIN = 12;
/** Tesseract's diagnostics ("Estimating resolution as ...") go to the worker's virtual /dev/null, not our stderr. */
const QUIET = { debug_file: '/dev/null' };

/**
 * The directory holding `<lang>.traineddata.gz` in the npm package @tesseract.js-data/<lang>.
 * One language per engine: tesseract.js loads every language of a worker from one langPath, and
 * its in-memory alternative ({ code, data }) is broken in v7 (initialisation uses the data as the name).
 */
function languageDataDir(lang: string, version: string): string {
  if (!LANG_CODE.test(lang)) throw new Error(`ocr: lang '${lang}' is not a Tesseract language code such as 'eng', 'deu' or 'chi_sim' (one language per model)`);
  const pkg = `@tesseract.js-data/${lang}`;
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), version);
  } catch {
    throw new Error(`ocr: no Tesseract language data for lang '${lang}': install the npm package ${pkg}`);
  }
  if (!existsSync(join(dir, `${lang}.traineddata.gz`))) throw new Error(`ocr: ${pkg} has no ${version}/${lang}.traineddata.gz`);
  return dir;
}

const quad = (b: Bbox): number[][] => [[b.x0, b.y0], [b.x1, b.y0], [b.x1, b.y1], [b.x0, b.y1]];
const shift = (box: number[][], dx: number, dy: number) => box.map(([x = 0, y = 0]) => [x + dx, y + dy]);

/** Tesseract's page → lines of non-empty words, confidences in 0..1, boxes offset by (dx, dy). */
function linesOf(page: Page, dx = 0, dy = 0): RecognizedLine[] {
  const lines: RecognizedLine[] = [];
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const words: RecognizedWord[] = line.words
          .map((w) => ({ text: w.text.trim(), confidence: w.confidence / 100, box: shift(quad(w.bbox), dx, dy) }))
          .filter((w) => w.text);
        if (!words.length) continue;
        const text = words.map((w) => w.text).join(' ');
        // Character-weighted, so one short doubtful word does not sink a long confident line.
        const chars = words.reduce((n, w) => n + w.text.length, 0);
        const confidence = words.reduce((s, w) => s + w.confidence * w.text.length, 0) / chars;
        lines.push({ text, confidence, box: shift(quad(line.bbox), dx, dy), engine: 'tesseract', words });
      }
    }
  }
  return lines;
}


export async function createTesseractEngine(options: TesseractEngineOptions = {}): Promise<OcrEngine> {
  const lang = options.lang ?? 'eng';
  const langPath = languageDataDir(lang, options.dataVersion ?? DEFAULT_DATA_VERSION);
  // A local langPath replaces tesseract.js's default CDN; cacheMethod 'none' keeps it from
  // reading or writing <lang>.traineddata in the working directory.
  let worker: Worker | undefined = await createWorker(lang, OEM.LSTM_ONLY, { langPath, cacheMethod: 'none', gzip: true });
  // One recognition at a time on the one worker (tesseract.js queues too, but parameters are per call).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: (w: Worker) => Promise<T>): Promise<T> => {
    const run = queue.then(() => {
      if (!worker) throw new Error('ocr: the tesseract engine has been disposed');
      return job(worker);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    name: 'tesseract',

    recognize: (image: PreparedImage) => serial(async (w) => {
      // Only the image itself: the white padding's edge against an off-white page reads as '|'.
      // Cropped here, not with tesseract.js's `rectangle`: a rectangle as wide as the image but
      // shorter reads garbage (an 800x200 rectangle of an 800x224 page: "ele TEE een").
      const content = await sharp(image.png)
        .extract({ left: 0, top: 0, width: Math.round(image.width / image.scaleX), height: Math.round(image.height / image.scaleY) })
        .png({ compressionLevel: 1, adaptiveFiltering: false })
        .toBuffer();
      const { data } = await w.recognize(content, { tessedit_pageseg_mode: PSM.AUTO, ...QUIET } as object, { blocks: true, text: false });
      const lines = linesOf(data);
      return inReadingOrder(lines);
    }),

    /** Each box's bounding rectangle, cropped with a white margin, read as a single line (PSM 7). */
    readBoxes: (image: PreparedImage, boxes: number[][][]) => serial(async (w) => {
      const page = sharp(image.png);
      const { width = 0, height = 0 } = await page.metadata();
      const lines: RecognizedLine[] = [];
      for (const box of boxes) {
        const xs = box.map((p) => p[0]!);
        const ys = box.map((p) => p[1]!);
        const x0 = Math.max(0, Math.floor(Math.min(...xs)));
        const y0 = Math.max(0, Math.floor(Math.min(...ys)));
        const x1 = Math.min(width, Math.ceil(Math.max(...xs)));
        const y1 = Math.min(height, Math.ceil(Math.max(...ys)));
        const empty: RecognizedLine = { text: '', confidence: 0, box, engine: 'tesseract' };
        if (x1 - x0 < 2 || y1 - y0 < 2) {
          lines.push(empty);
          continue;
        }
        const crop = await page.clone()
          .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
          .extend({ top: CROP_MARGIN, bottom: CROP_MARGIN, left: CROP_MARGIN, right: CROP_MARGIN, background: '#ffffff' })
          .png({ compressionLevel: 1 })
          .toBuffer();
        const { data } = await w.recognize(crop, { tessedit_pageseg_mode: PSM.SINGLE_LINE, ...QUIET } as object, { blocks: true, text: false });
        const found = linesOf(data, x0 - CROP_MARGIN, y0 - CROP_MARGIN);
        // Forced to read one line, Tesseract turns texture into words it rejects (confidence 0).
        if (!found.some((l) => l.confidence > 0)) {
          lines.push(empty);
          continue;
        }
        // PSM 7 gives one line; merge defensively should it split one.
        const words = found.flatMap((l) => l.words ?? []);
        const text = words.map((wd) => wd.text).join(' ');
        const confidence = words.reduce((s, wd) => s + wd.confidence * wd.text.length, 0) / words.reduce((n, wd) => n + wd.text.length, 0);
        lines.push({ text, confidence, box, engine: 'tesseract', words });
      }
      return lines;
    }),

    async dispose() {
      await queue;
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
