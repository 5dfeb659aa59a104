/**
 * Section `ocr-accuracy`: how well and how fast the built-in `ocr` runtime reads the synthetic
 * evaluation set (test/fixtures/ocr-eval: ~30 document images, ~10 scene-like ones) with each
 * engine (`paddle`, `tesseract`, `auto`), loaded in-process with one thread, next to Debian's
 * Tesseract 5 run as a command on the same images. Every image is read once after a warm-up;
 * the time is one `run()` (one process, for the command).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadedModel } from '../src/runtimes/runtime.js';
import type { OcrOutput } from '../src/runtimes/task-io.js';
import { ocrRuntime } from '../src/runtimes/ocr/ocr-runtime.js';
import { buildOcrEvalSet, type OcrEvalImage } from '../test/fixtures/ocr-eval/eval-set.js';
import { scoreSet, type KindScore, type OcrEvalResult } from '../test/fixtures/ocr-eval/score.js';
import type { BenchContext } from './context.js';

const run = promisify(execFile);

/** Page segmentation 3 (automatic layout) read this set best of 3, 6 and 11. */
export const TESSERACT_CLI_ARGS = ['-', '--psm', '3'] as const;
/** One thread, like the runtime's engines here (threads: 1); Tesseract would use OpenMP otherwise. */
const TESSERACT_CLI_ENV = { ...process.env, OMP_THREAD_LIMIT: '1' };
/** `auto` may take at most this many times the faster single engine's median time. */
export const AUTO_TIME_FACTOR = 1.5;

export type OcrRuntimeEngine = 'paddle' | 'tesseract' | 'auto';
export type OcrEvalEngine = 'paddle' | 'tesseract-js' | 'auto' | 'tesseract-cli';

export interface OcrKindNumbers {
  images: number;
  /** Micro-averaged character error rate (edits / truth characters). */
  cer: number;
  wordAccuracy: number;
  medianMs: number;
}

export interface OcrEngineScore {
  engine: OcrEvalEngine;
  describe: string;
  document: OcrKindNumbers;
  scene: OcrKindNumbers;
  all: OcrKindNumbers;
  /** The 3 images read worst over the whole set, with what was read. */
  worst: { id: string; style: string; cer: number; truth: string[]; read: string[] }[];
  /** In-process engines: load time (includes the runtime's own warm-up). */
  loadMs?: number;
  /** Which engine the runtime says read the lines (`lines[].engine`), when it says. */
  linesReadBy?: Record<string, number>;
}

export interface OcrAccuracySection {
  set: { documents: number; scenes: number; describe: string };
  tesseractCli: { version: string; command: string } | { unavailable: string };
  engines: OcrEngineScore[];
  targets: {
    /** `auto` CER <= the in-process Tesseract engine's on the document images. */
    autoCerAtMostTesseractOnDocuments: boolean;
    /** `auto` CER <= PaddleOCR's on the scene images. */
    autoCerAtMostPaddleOnScenes: boolean;
    /** `auto` median ms an image <= 1.5 x the faster of `paddle` and `tesseract`. */
    autoMedianWithinFactorOfFastest: boolean;
  };
}

const numbers = (k: KindScore): OcrKindNumbers => ({ images: k.images, cer: k.cer, wordAccuracy: k.wordAccuracy, medianMs: k.medianMs });

function toScore(engine: OcrEvalEngine, describe: string, results: OcrEvalResult[]): OcrEngineScore {
  const s = scoreSet(results);
  return {
    engine, describe,
    document: numbers(s.document), scene: numbers(s.scene), all: numbers(s.all),
    worst: s.all.worst.map(({ id, style, cer, truth, read }) => ({ id, style, cer, truth, read })),
  };
}

/** The installed `tesseract` command's first version line, or undefined when there is none. */
async function tesseractVersion(): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run('tesseract', ['--version']);
    return (stdout || stderr).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

/**
 * Makes sure Debian's Tesseract 5 command is there: installs `tesseract-ocr` (with its English
 * data) only when the command is missing and we are root. Returns its version line.
 */
export async function ensureTesseractCli(log: (line: string) => void = () => undefined): Promise<string> {
  const found = await tesseractVersion();
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('tesseract is not installed and installing it needs root: apt-get install -y tesseract-ocr');
  log('installing tesseract-ocr with apt-get');
  const apt = (args: string[]) => run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
  // A fresh container has no package lists yet: update once if the first attempt fails.
  await apt(['install', '-y', 'tesseract-ocr']).catch(async () => {
    await apt(['update']);
    await apt(['install', '-y', 'tesseract-ocr']);
  });
  const installed = await tesseractVersion();
  if (!installed) throw new Error('apt-get installed tesseract-ocr but `tesseract --version` still fails');
  return installed;
}

/** Reads one image file with the `tesseract` command: its non-empty lines, trimmed. */
export async function readWithTesseractCli(file: string): Promise<string[]> {
  const { stdout } = await run('tesseract', [file, ...TESSERACT_CLI_ARGS], { env: TESSERACT_CLI_ENV });
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

async function timeCli(images: OcrEvalImage[], dir: string): Promise<OcrEvalResult[]> {
  await mkdir(dir, { recursive: true });
  const results: OcrEvalResult[] = [];
  for (const image of images) {
    const file = join(dir, image.id);
    await writeFile(file, image.image);
    const started = performance.now();
    const lines = await readWithTesseractCli(file);
    results.push({ image, lines, ms: performance.now() - started });
  }
  return results;
}

async function timeRuntime(engine: OcrRuntimeEngine, images: OcrEvalImage[], home: string) {
  const loadStarted = performance.now();
  const model: LoadedModel = await ocrRuntime.load(
    { key: 'ocr-eval@1', runtime: 'ocr', path: 'builtin', options: { engine } },
    { threads: 1, allowRemoteModels: false, modelCacheDir: home },
  );
  const loadMs = performance.now() - loadStarted;
  const linesReadBy: Record<string, number> = {};
  const results: OcrEvalResult[] = [];
  try {
    await model.run({ image: images[0]!.image });
    for (const image of images) {
      const started = performance.now();
      const output = (await model.run({ image: image.image })) as OcrOutput;
      const ms = performance.now() - started;
      for (const line of output.lines as (OcrOutput['lines'][number] & { engine?: string })[]) {
        if (line.engine) linesReadBy[line.engine] = (linesReadBy[line.engine] ?? 0) + 1;
      }
      results.push({ image, lines: output.lines.map((l) => l.text), ms });
    }
  } finally {
    await model.dispose();
  }
  return { results, loadMs, linesReadBy };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function logScore(log: (line: string) => void, s: OcrEngineScore): void {
  for (const kind of ['document', 'scene'] as const) {
    const k = s[kind];
    log(`ocr-accuracy ${s.engine} ${kind}: CER ${pct(k.cer)}, words ${pct(k.wordAccuracy)}, median ${k.medianMs.toFixed(0)} ms (${k.images} images)`);
  }
  for (const w of s.worst) log(`  worst ${w.id} CER ${pct(w.cer)}: ${JSON.stringify(w.read.join(' | '))} (truth ${JSON.stringify(w.truth.join(' | '))})`);
}

export async function ocrAccuracySection(ctx: BenchContext): Promise<OcrAccuracySection> {
  const { log } = ctx;
  const images = await buildOcrEvalSet();
  const documents = images.filter((i) => i.kind === 'document').length;
  const engines: OcrEngineScore[] = [];
  const byEngine = new Map<OcrEvalEngine, OcrEngineScore>();
  const add = (s: OcrEngineScore) => { engines.push(s); byEngine.set(s.engine, s); logScore(log, s); };

  const inProcess: [OcrRuntimeEngine, OcrEvalEngine, string][] = [
    ['paddle', 'paddle', 'ocr runtime, engine paddle (PP-OCRv4 via @gutenye/ocr-node)'],
    ['tesseract', 'tesseract-js', 'ocr runtime, engine tesseract (tesseract.js)'],
    ['auto', 'auto', 'ocr runtime, engine auto (both, per line)'],
  ];
  for (const [engine, name, describe] of inProcess) {
    const { results, loadMs, linesReadBy } = await timeRuntime(engine, images, ctx.home);
    add({ ...toScore(name, describe, results), loadMs, linesReadBy });
  }

  let tesseractCli: OcrAccuracySection['tesseractCli'];
  try {
    const version = await ensureTesseractCli(log);
    tesseractCli = { version, command: `tesseract <image> ${TESSERACT_CLI_ARGS.join(' ')} (OMP_THREAD_LIMIT=1)` };
    add(toScore('tesseract-cli', `${version} command, one process an image`, await timeCli(images, join(ctx.home, 'ocr-eval'))));
  } catch (err) {
    tesseractCli = { unavailable: (err as Error).message };
    log(`ocr-accuracy: no tesseract command: ${(err as Error).message}`);
  }

  const paddle = byEngine.get('paddle')!;
  const tesseract = byEngine.get('tesseract-js')!;
  const auto = byEngine.get('auto')!;
  const targets = {
    autoCerAtMostTesseractOnDocuments: auto.document.cer <= tesseract.document.cer,
    autoCerAtMostPaddleOnScenes: auto.scene.cer <= paddle.scene.cer,
    autoMedianWithinFactorOfFastest: auto.all.medianMs <= AUTO_TIME_FACTOR * Math.min(paddle.all.medianMs, tesseract.all.medianMs),
  };
  log(`ocr-accuracy targets: ${JSON.stringify(targets)}`);
  return {
    set: {
      documents, scenes: images.length - documents,
      describe: 'rendered DejaVu text 14-40 px, both polarities, rotations up to 3°, noise, JPEG q30-50; scenes: textured/photo-like backgrounds, curved baselines, low contrast',
    },
    tesseractCli, engines, targets,
  };
}

/** The section's table: character error rate, word accuracy and median time per engine and kind. */
export function ocrAccuracyBlock(section: OcrAccuracySection): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`.padStart(7);
  const cells = (k: OcrKindNumbers) => `${pct(k.cer)} ${pct(k.wordAccuracy)} ${k.medianMs.toFixed(0).padStart(5)} ms`;
  return [
    `ocr-accuracy: ${section.set.documents} documents, ${section.set.scenes} scenes; CER, word accuracy, median time an image`,
    `  ${'engine'.padEnd(14)} ${'documents'.padEnd(25)} scenes`,
    ...section.engines.map((e) => `  ${e.engine.padEnd(14)} ${cells(e.document)}   ${cells(e.scene)}`),
  ];
}
