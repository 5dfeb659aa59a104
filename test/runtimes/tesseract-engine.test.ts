import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { OcrEngine, RecognizedLine } from '../../src/runtimes/ocr/ocr-engine.js';
import { prepareImage, type PreparedImage } from '../../src/runtimes/ocr/prepare-image.js';
import { createTesseractEngine } from '../../src/runtimes/ocr/tesseract-engine.js';
import { renderTextImage } from '../fixtures/text-image.js';

const TOTAL_DUE = 'Total due: $249.99 (incl. shipping)';
const INVOICE_PAID = 'Invoice INV-0583 was paid on 12/09/2023.';
const FOX = 'The quick brown fox jumps over the lazy dog';

const prepare = async (png: Buffer) => prepareImage(png, 2048);
const xs = (box: number[][]) => box.map((p) => p[0]!);
const ys = (box: number[][]) => box.map((p) => p[1]!);

function assertWellFormed(lines: RecognizedLine[], image: PreparedImage): void {
  const width = image.width / image.scaleX;
  const height = image.height / image.scaleY;
  for (const line of lines) {
    assert.equal(line.engine, 'tesseract');
    assert.ok(line.confidence > 0 && line.confidence <= 1, `confidence ${line.confidence}`);
    assert.ok(line.words?.length, 'words');
    assert.equal(line.words.map((w) => w.text).join(' '), line.text);
    for (const box of [line.box, ...line.words.map((w) => w.box)]) {
      assert.equal(box.length, 4);
      for (const [x, y] of box) assert.ok(x! >= 0 && x! <= width && y! >= 0 && y! <= height, `(${x}, ${y}) outside ${width}x${height}`);
      // Clockwise from top-left: an axis-aligned rectangle with positive area.
      const [tl, tr, br, bl] = box as [number[], number[], number[], number[]];
      assert.ok(tl[0]! < tr[0]! && tl[1] === tr[1] && tr[0] === br[0] && tr[1]! < br[1]! && bl[0] === tl[0] && bl[1] === br[1], JSON.stringify(box));
    }
  }
}

let engine: OcrEngine;
before(async () => {
  engine = await createTesseractEngine();
});
after(async () => {
  await engine?.dispose();
});

describe('tesseract engine', () => {
  test('is named tesseract', () => {
    assert.equal(engine.name, 'tesseract');
  });

  test('reads rendered document lines exactly, top to bottom', async () => {
    const image = await prepare(await renderTextImage([TOTAL_DUE, INVOICE_PAID, FOX], { fontSize: 28 }));
    const lines = await engine.recognize(image);
    assert.deepEqual(lines.map((l) => l.text), [TOTAL_DUE, INVOICE_PAID, FOX]);
    assertWellFormed(lines, image);
  });

  test('puts each line box around its rendered line, words left to right inside it', async () => {
    // fontSize 40, padding 40, line step 64: baselines at y = 80, 144, 208.
    const image = await prepare(await renderTextImage(['Alpha beta gamma', 'Delta epsilon', 'Zeta eta theta'], { fontSize: 40 }));
    const lines = await engine.recognize(image);
    assert.deepEqual(lines.map((l) => l.text), ['Alpha beta gamma', 'Delta epsilon', 'Zeta eta theta']);
    assertWellFormed(lines, image);
    lines.forEach((line, k) => {
      const baseline = 80 + 64 * k;
      assert.ok(Math.min(...ys(line.box)) > baseline - 45 && Math.max(...ys(line.box)) < baseline + 15, `line ${k} box ${JSON.stringify(line.box)}`);
      assert.ok(Math.min(...xs(line.box)) >= 38 && Math.min(...xs(line.box)) < 50, `line ${k} starts at x=40`);
      const lefts = line.words!.map((w) => Math.min(...xs(w.box)));
      assert.deepEqual(lefts, [...lefts].sort((a, b) => a - b));
      for (const w of line.words!) assert.ok(Math.min(...xs(w.box)) >= Math.min(...xs(line.box)) && Math.max(...xs(w.box)) <= Math.max(...xs(line.box)));
    });
  });

  test('reads light text on a dark background', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="200"><rect width="100%" height="100%" fill="#102040"/>
      <text x="40" y="80" font-family="DejaVu Sans" font-size="40" fill="#ffffff">${TOTAL_DUE}</text>
      <text x="40" y="150" font-family="DejaVu Sans" font-size="40" fill="#e8e8d0">Light on dark</text></svg>`;
    const image = await prepare(await sharp(Buffer.from(svg)).png().toBuffer());
    const lines = await engine.recognize(image);
    assert.deepEqual(lines.map((l) => l.text), [TOTAL_DUE, 'Light on dark']);
  });

  test('reads an off-white page without taking the padding edge for a character', async () => {
    // prepareImage pads with pure white to a multiple of 32: the step from paper to padding is no '|'.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="90"><rect width="100%" height="100%" fill="#f4f1e8"/>
      <text x="20" y="55" font-family="DejaVu Sans" font-size="32" fill="#000">$12.50</text></svg>`;
    const image = await prepare(await sharp(Buffer.from(svg)).png().toBuffer());
    assert.deepEqual((await engine.recognize(image)).map((l) => l.text), ['$12.50']);
  });

  test('reads a page padded only below (full width): tesseract.js reads such a rectangle as garbage, so the page is cropped', async () => {
    // 800x200 is padded to 800x224; a tesseract.js `rectangle` of 800x200 read "ele TEE een".
    const image = await prepare(await renderTextImage(['Hello World 2026'], { width: 800, height: 200 }));
    assert.equal(image.png.readUInt32BE(16), 800);
    assert.equal(image.png.readUInt32BE(20), 224);
    assert.deepEqual((await engine.recognize(image)).map((l) => l.text), ['Hello World 2026']);
  });

  test('finds no lines on a blank image', async () => {
    const image = await prepare(await sharp({ create: { width: 320, height: 160, channels: 3, background: '#ffffff' } }).png().toBuffer());
    assert.deepEqual(await engine.recognize(image), []);
  });

  test('readBoxes reads each given box as one line, in the order given, keeping the box', async () => {
    const image = await prepare(await renderTextImage([TOTAL_DUE, INVOICE_PAID], { fontSize: 28 }));
    const found = await engine.recognize(image);
    assert.equal(found.length, 2);
    const boxes = [found[1]!.box, found[0]!.box];
    const read = await engine.readBoxes!(image, boxes);
    assert.deepEqual(read.map((l) => l.text), [INVOICE_PAID, TOTAL_DUE]);
    assert.deepEqual(read.map((l) => l.box), boxes);
    assertWellFormed(read, image);
    // Word boxes come back in the page's pixels, inside the line's box (crop margin undone).
    for (const line of read) {
      for (const w of line.words!) {
        assert.ok(Math.min(...ys(w.box)) >= Math.min(...ys(line.box)) - 2 && Math.max(...ys(w.box)) <= Math.max(...ys(line.box)) + 2, JSON.stringify(w.box));
      }
    }
  });

  test('readBoxes answers an empty line for a box with no text or no area', async () => {
    const image = await prepare(await renderTextImage([TOTAL_DUE], { width: 800, height: 300, fontSize: 28 }));
    const blank = [[400, 200], [700, 200], [700, 260], [400, 260]];
    const flat = [[10, 10], [200, 10], [200, 10], [10, 10]];
    const read = await engine.readBoxes!(image, [blank, flat]);
    assert.deepEqual(read, [
      { text: '', confidence: 0, box: blank, engine: 'tesseract' },
      { text: '', confidence: 0, box: flat, engine: 'tesseract' },
    ]);
  });
});

describe('tesseract engine loading', () => {
  test('a language whose data package is not installed is a load error naming the package', async () => {
    await assert.rejects(createTesseractEngine({ lang: 'xyz' }), {
      message: "ocr: no Tesseract language data for lang 'xyz': install the npm package @tesseract.js-data/xyz",
    });
  });

  test('a lang that is not a language code is rejected before any lookup', async () => {
    for (const lang of ['../eng', 'eng+deu', '']) {
      await assert.rejects(createTesseractEngine({ lang }), /is not a Tesseract language code/);
    }
  });

  test('writes nothing to the working directory and is unusable after dispose', async () => {
    // tesseract.js caches <lang>.traineddata in the working directory unless told not to.
    // (The worker thread cannot start from another directory under tsx, so watch this one.)
    const before = new Set(readdirSync(process.cwd()));
    const own = await createTesseractEngine({ lang: 'eng' });
    const image = await prepare(await renderTextImage(['Oslo'], { fontSize: 40 }));
    assert.deepEqual((await own.recognize(image)).map((l) => l.text), ['Oslo']);
    await own.dispose();
    assert.deepEqual(readdirSync(process.cwd()).filter((f) => !before.has(f)), []);
    // Nor did the engine shared by the other tests.
    assert.deepEqual(readdirSync(process.cwd()).filter((f) => f.includes('traineddata')), []);
    await assert.rejects(own.recognize(image), /disposed/);
  });
});
