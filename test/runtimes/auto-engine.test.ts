import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { RuntimeEnv } from '../../src/runtimes/runtime.js';
import { AUTO_TUNING, combineReadings, createAutoEngine, mergePages, pageConfidence } from '../../src/runtimes/ocr/auto-engine.js';
import type { OcrEngine, RecognizedLine } from '../../src/runtimes/ocr/ocr-engine.js';
import { resolveModelFiles } from '../../src/runtimes/ocr/ocr-runtime.js';
import { createPaddleEngine } from '../../src/runtimes/ocr/paddle-engine.js';
import { prepareImage } from '../../src/runtimes/ocr/prepare-image.js';
import { createTesseractEngine } from '../../src/runtimes/ocr/tesseract-engine.js';
import { renderTextImage } from '../fixtures/text-image.js';

const env: RuntimeEnv = { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() };
const prepare = (png: Buffer) => prepareImage(png, 2048);
const texts = (lines: RecognizedLine[]) => lines.map((l) => l.text);
const engines = (lines: RecognizedLine[]) => lines.map((l) => l.engine);

/** Seeded uniform noise: a textured backdrop neither engine can take for text. */
function noise(width: number, height: number, seed: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = (s >> 16) & 255;
  }
  return raw;
}

let paddle: OcrEngine;
let tesseract: OcrEngine;
let auto: OcrEngine;
before(async () => {
  paddle = await createPaddleEngine(resolveModelFiles({ path: 'builtin' }), env);
  tesseract = await createTesseractEngine();
  auto = createAutoEngine(paddle, tesseract);
});
after(async () => {
  await auto?.dispose(); // disposes both engines
});

describe('auto engine (real PaddleOCR and Tesseract)', () => {
  test('is named auto', () => {
    assert.equal(auto.name, 'auto');
  });

  test('reads a clean document exactly, every line credited to tesseract', async () => {
    const lines = ['INVOICE', 'Invoice INV-0583 was paid on 12/09/2023.', 'Total due: $249.99 (incl. shipping)'];
    const read = await auto.recognize(await prepare(await renderTextImage(lines, { fontSize: 28 })));
    assert.deepEqual(texts(read), lines);
    assert.deepEqual(engines(read), ['tesseract', 'tesseract', 'tesseract']);
  });

  test('falls back to PaddleOCR on a scene-like image where Tesseract finds no text', async () => {
    const [w, h] = [640, 160];
    const backdrop = await sharp(noise(w, h, 11), { raw: { width: w, height: h, channels: 3 } }).blur(1).png().toBuffer();
    const text = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="40" y="110" font-family="DejaVu Sans" font-size="56" fill="#ffffff" transform="rotate(-5 40 110)">Fresh Coffee</text></svg>`;
    const image = await prepare(await sharp(backdrop).composite([{ input: Buffer.from(text) }]).png().toBuffer());
    assert.deepEqual(await tesseract.recognize(image), [], 'precondition: Tesseract alone reads nothing here');
    const read = await auto.recognize(image);
    assert.deepEqual(texts(read), ['Fresh Coffee']);
    assert.deepEqual(engines(read), ['paddle']);
  });

  test('the vote fixes a character Tesseract misread and doubted, keeping the rest of its line', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="42"><rect width="100%" height="100%" fill="#fff"/><text x="20" y="28" font-family="DejaVu Serif" font-size="14" fill="#000">It&#39;s done - finally!</text></svg>`;
    const image = await prepare(await sharp(Buffer.from(svg)).png().toBuffer());
    const alone = await tesseract.recognize(image);
    assert.deepEqual(texts(alone), ["1t's done - finally!"], 'precondition: Tesseract misreads the I');
    assert.ok(alone[0]!.words![0]!.confidence < 0.8, 'precondition: and doubts that word');
    const read = await auto.recognize(image);
    assert.deepEqual(texts(read), ["It's done - finally!"]);
    // The only differing character came from PaddleOCR; the box is still Tesseract's.
    assert.deepEqual(engines(read), ['paddle']);
    assert.deepEqual(read[0]!.box, alone[0]!.box);
  });

  test('readBoxes reads given boxes with both engines where needed, in order', async () => {
    const lines = ['Total due: $249.99 (incl. shipping)', 'Invoice INV-0583 was paid on 12/09/2023.'];
    const image = await prepare(await renderTextImage(lines, { fontSize: 28 }));
    const boxes = (await tesseract.recognize(image)).map((l) => l.box).reverse();
    const read = await auto.readBoxes!(image, boxes);
    assert.deepEqual(texts(read), [...lines].reverse());
    assert.deepEqual(read.map((l) => l.box), boxes);
  });
});

const line = (text: string, confidence: number, box: number[][], engine: 'paddle' | 'tesseract'): RecognizedLine => ({ text, confidence, box, engine });
const rect = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];

describe('auto engine merging (hand-made readings)', () => {
  test('pageConfidence weighs lines by their characters, ignoring spaces; none is 0', () => {
    assert.equal(pageConfidence([line('abc', 1, rect(0, 0, 1, 1), 'tesseract'), line('a b', 0.25, rect(0, 0, 1, 1), 'tesseract')]), (3 + 0.5) / 5);
    assert.equal(pageConfidence([]), 0);
  });

  test('whole-page merge: paddle lines voted with the tesseract line they overlap, confident leftovers kept, top to bottom', () => {
    const paddleLines = [line('Welcome to Bergen', 0.99, rect(10, 50, 300, 80), 'paddle'), line('OPEN', 0.9, rect(10, 0, 100, 30), 'paddle')];
    const tesseractLines = [
      line('Wel come to Bergen,', 0.5, rect(12, 52, 290, 78), 'tesseract'),
      line('since 1998', 0.9, rect(10, 100, 200, 130), 'tesseract'),
      line('~~', 0.3, rect(400, 100, 450, 130), 'tesseract'),
    ];
    const merged = mergePages(paddleLines, tesseractLines);
    assert.deepEqual(merged.map((l) => [l.text, l.engine]), [
      ['OPEN', 'paddle'],
      // Tesseract's space wins (it decides spacing); the comma it doubted loses to PaddleOCR's nothing.
      ['Wel come to Bergen', 'paddle'],
      ['since 1998', 'tesseract'],
    ]);
    assert.deepEqual(merged[1]!.box, rect(10, 50, 300, 80));
  });

  test("with spacing 'vote', a space only Tesseract read is voted like any character", () => {
    const t = line('Wel come to Bergen', 0.5, rect(0, 0, 100, 10), 'tesseract');
    const p = line('Welcome to Bergen', 0.99, rect(0, 0, 100, 10), 'paddle');
    assert.equal(combineReadings(t, p, 'paddle').text, 'Wel come to Bergen');
    assert.equal(combineReadings(t, p, 'paddle', { ...AUTO_TUNING, spacing: 'vote' }).text, 'Welcome to Bergen');
  });

  test('combineReadings credits the base engine when the readings agree, and keeps its words', () => {
    const words = [{ text: 'Oslo', confidence: 0.984375, box: rect(0, 0, 40, 10) }];
    const t = { ...line('Oslo', 0.984375, rect(0, 0, 40, 10), 'tesseract'), words };
    const p = line('Oslo', 0.5, rect(0, 0, 41, 11), 'paddle');
    // Where they agree each character keeps the higher confidence.
    assert.deepEqual(combineReadings(t, p, 'tesseract'), { text: 'Oslo', confidence: 0.984375, box: rect(0, 0, 40, 10), engine: 'tesseract', words });
    assert.equal(combineReadings(t, line('', 0, rect(0, 0, 1, 1), 'paddle'), 'tesseract'), t);
  });
});
