/**
 * The per-task playgrounds end to end in real Chromium, against real services:
 * the built-in keyterms (terms marked in the text and ranked; hovering or
 * focusing one marks exactly its occurrences) and OCR (a rendered two-line
 * image: one box per line, at the API's coordinates scaled onto the shown
 * image; line and box highlight each other; a file that is no image gives the
 * server's 400 with the file kept), tiny BERT text-classification (label bars
 * whose scores add up to 1 per text) and token-classification (entities
 * marked with their type written out), zero-shot classification, and the cnn
 * ONNX model's image upload with its top-k classes (and its tensor form still
 * working). Every page in light and dark passes axe-core and logs no console
 * error. Numbers are checked against the API's own answer to the same request.
 * Screenshots go to test-results/ui/.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import sharp from 'sharp';
import { bearer, startAuthServer } from '../auth/auth-helpers.js';
import { renderTextImage } from '../fixtures/text-image.js';
import { writeTinyBert } from '../fixtures/transformers/index.js';
import { uploadModel, type TestServer } from '../helpers/test-server.js';
import { assertAccessible, launchBrowser, loginAs, openWatched, shot } from './browser.js';

const SCHEMES = ['light', 'dark'] as const;
const KEYTERM_TEXT = 'Machine learning models run in separate worker processes. The gateway batches requests from many clients, '
  + 'and a crashed worker is restarted. Machine learning models are served over HTTP.';
const OCR_LINES = ['Hello World 2026', 'Corral reads text'];

let server: TestServer & { adminKey: string };
let browser: Browser;
let ocrPng: Buffer;
let photo: Buffer;

async function apiPost<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json() as T;
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

async function apiUpload(path: string, bytes: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'upload.png');
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: bearer(server.adminKey), body: form });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

async function waitRunning(name: string): Promise<void> {
  const until = Date.now() + 180_000;
  for (;;) {
    const res = await fetch(`${server.url}/api/services/${name}`, { headers: bearer(server.adminKey) });
    const view = await res.json() as { status?: string; reason?: string };
    if (view.status === 'RUNNING') return;
    assert.ok(view.status !== 'FAILED' && Date.now() < until, `${name} is ${view.status}: ${view.reason}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Logs in and opens a service's playground tab (it is only enabled while the service is RUNNING). */
async function openPlayground(scheme: 'light' | 'dark', service: string) {
  const watched = await openWatched(browser, scheme);
  await loginAs(watched.page, server.url, server.adminKey);
  await watched.page.goto(`${server.url}/ui/services/${service}?tab=playground`);
  await watched.page.getByRole('heading', { level: 1, name: service }).waitFor();
  assert.equal(await watched.page.getByRole('tab', { name: 'Playground' }).getAttribute('aria-selected'), 'true');
  return watched;
}

/** Texts of the runs of consecutive `<mark class="on">` in an element: one string per marked occurrence. */
/** What the page-side callbacks read of the DOM (this tsconfig has no DOM library). */
interface DomNode { tagName?: string; textContent: string | null; classList?: { contains(name: string): boolean } }

/** Texts of the runs of consecutive `<mark class="on">` in an element: one string per marked occurrence. */
const onRuns = (page: Page, selector: string) => page.locator(selector).evaluate((el) => {
  const runs: string[] = [];
  let current: string | null = null;
  for (const node of Array.from((el as unknown as { childNodes: ArrayLike<DomNode> }).childNodes)) {
    const on = node.tagName === 'MARK' && node.classList!.contains('on');
    if (on) current = (current ?? '') + node.textContent;
    else if (current !== null) { runs.push(current); current = null; }
  }
  if (current !== null) runs.push(current);
  return runs;
});

before(async () => {
  browser = await launchBrowser();
  server = await startAuthServer({ workers: 1 });
  ocrPng = await renderTextImage(OCR_LINES, { width: 1400, height: 320, fontSize: 56 });
  // A 48 × 40 colour gradient for the image classifier (any size: the gateway resizes to 32 × 32).
  const raw = Buffer.alloc(48 * 40 * 3);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 48; x++) raw.set([x * 5, y * 6, 255 - x * 5], (y * 48 + x) * 3);
  photo = await sharp(raw, { raw: { width: 48, height: 40, channels: 3 } }).png().toBuffer();
  const models = join(server.home, 'src-models');
  for (const [name, task] of [['sentiment', 'text-classification'], ['ner', 'token-classification'], ['zeroshot', 'zero-shot-classification']] as const) {
    const res = await fetch(`${server.url}/api/services?wait=true`, {
      method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' },
      body: JSON.stringify({ name, task, model: writeTinyBert(join(models, task), { task }) }),
    });
    assert.equal(res.status, 201, await res.text());
  }
  assert.equal((await uploadModel(server.url, 'cnn', server.models.cnn!, server.adminKey)).status, 201);
  await waitRunning('keyterms');
  await waitRunning('ocr');
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('service playgrounds', () => {
  for (const scheme of SCHEMES) {
    test(`keyterms (${scheme}): marked in the text and ranked with the API's scores; hover and focus mark exactly a term's occurrences`, async () => {
      const expected = await apiPost<{ keyterms: string[][]; scores: number[][] }>('/keyterms', { sentences: [KEYTERM_TEXT], top: 8, model: 'keyterms' });
      const terms = expected.keyterms[0]!;
      assert.ok(terms.length >= 3, JSON.stringify(expected));
      const { context, page, problems } = await openPlayground(scheme, 'keyterms');
      await page.getByLabel('Text', { exact: true }).fill(KEYTERM_TEXT);
      await page.getByLabel('At most').selectOption('8');
      await page.getByRole('button', { name: 'Extract keyterms' }).click();
      const list = page.getByTestId('keyterm-list');
      await list.locator('li').first().waitFor();

      // Ranked as the API ranks them, each with its score as a number.
      assert.deepEqual(await list.locator('li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-term'))), terms);
      assert.deepEqual(await list.locator('.kt-score').allTextContents(), expected.scores[0]!.map((s) => s.toFixed(3)));
      const scores = expected.scores[0]!;
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best first');

      // The text is all there, and every term is marked at least once.
      const text = page.getByTestId('keyterm-text');
      assert.equal(await text.textContent(), KEYTERM_TEXT);
      const marked = await text.locator('mark').evaluateAll((ms) => ms.flatMap((m) => (m.getAttribute('data-terms') ?? '').split('|')));
      for (const term of terms) assert.ok(marked.includes(term), `'${term}' is marked in the text`);
      assert.deepEqual(await onRuns(page, '[data-testid="keyterm-text"]'), [], 'nothing emphasised before a hover');

      // Hover, then keyboard focus: exactly the occurrences of that term, as written in the text.
      const occurrences = (term: string) => [...KEYTERM_TEXT.matchAll(new RegExp(`(?<![\\p{L}\\p{N}])${term.split(' ').join('\\s+')}(?![\\p{L}\\p{N}])`, 'giu'))].map((m) => m[0]);
      const multi = terms.find((t) => occurrences(t).length > 1) ?? terms[0]!;
      await list.locator(`li[data-term="${multi}"] button`).hover();
      assert.deepEqual(await onRuns(page, '[data-testid="keyterm-text"]'), occurrences(multi));
      assert.ok(occurrences(multi).length >= 1);
      await page.mouse.move(0, 0);
      assert.deepEqual(await onRuns(page, '[data-testid="keyterm-text"]'), []);
      const last = terms[terms.length - 1]!;
      await list.locator(`li[data-term="${last}"] button`).focus();
      assert.deepEqual(await onRuns(page, '[data-testid="keyterm-text"]'), occurrences(last));
      // Pressing keeps it marked after the focus leaves.
      await page.keyboard.press('Enter');
      assert.equal(await list.locator(`li[data-term="${last}"] button`).getAttribute('aria-pressed'), 'true');
      await page.getByLabel('Text', { exact: true }).focus();
      assert.deepEqual(await onRuns(page, '[data-testid="keyterm-text"]'), occurrences(last));

      await shot(page, `playground-keyterms-${scheme}`);
      await assertAccessible(page, `the keyterms playground (${scheme})`);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  for (const scheme of SCHEMES) {
    test(`OCR (${scheme}): one box per line at the API's coordinates, scaled onto the image; line and box highlight each other`, async () => {
      const api = (await apiUpload('/ocr?service=ocr', ocrPng)).json as { lines: Array<{ text: string; confidence: number; box: number[][] }> };
      assert.equal(api.lines.length, OCR_LINES.length, JSON.stringify(api.lines));
      const { context, page, problems } = await openPlayground(scheme, 'ocr');
      await page.getByLabel('Image to read').setInputFiles({ name: 'two-lines.png', mimeType: 'image/png', buffer: ocrPng });
      const lines = page.getByTestId('ocr-lines');
      await lines.locator('li').first().waitFor({ timeout: 60_000 });
      await page.locator('[data-testid="ocr-boxes"] polygon.edge').first().waitFor();

      assert.deepEqual(await lines.locator('.ocr-text').allTextContents(), api.lines.map((l) => l.text));
      assert.deepEqual(await lines.locator('.ocr-conf').allTextContents(), api.lines.map((l) => `confidence ${(l.confidence * 100).toFixed(1)} %`));
      assert.deepEqual(await lines.locator('.ocr-engine').allTextContents(), api.lines.map((l) => `read by ${(l as { engine?: string }).engine}`));
      const polygons = page.locator('[data-testid="ocr-boxes"] polygon.edge');
      assert.equal(await polygons.count(), api.lines.length, 'a box per line');
      assert.deepEqual(await polygons.evaluateAll((ps) => ps.map((p) => p.getAttribute('points'))), api.lines.map((l) => l.box.map((pt) => pt.join(',')).join(' ')));

      // On screen, each box sits where the API's pixels are on the (scaled-down) image.
      const img = await page.getByRole('img', { name: 'The image two-lines.png' }).boundingBox();
      const natural = await page.getByRole('img', { name: 'The image two-lines.png' }).evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth);
      assert.equal(natural, 1400);
      assert.ok(img && img.width < 1400, `the image is shown scaled down (${img?.width}px wide)`);
      const scale = img!.width / natural;
      // Every corner, mapped to the page by the SVG's own transform (so the stroke does not count).
      type Polygon = { getScreenCTM(): { a: number; b: number; c: number; d: number; e: number; f: number }; points: ArrayLike<{ x: number; y: number }> };
      const corners = await polygons.evaluateAll((ps) => ps.map((p) => {
        const { a, b, c, d, e, f } = (p as unknown as Polygon).getScreenCTM();
        return Array.from((p as unknown as Polygon).points, ({ x, y }) => [a * x + c * y + e, b * x + d * y + f]);
      }));
      for (const [i, line] of api.lines.entries()) {
        line.box.forEach(([x, y], j) => {
          const [sx, sy] = corners[i]![j]!;
          assert.ok(Math.abs(sx! - (img!.x + x! * scale)) < 1 && Math.abs(sy! - (img!.y + y! * scale)) < 1,
            `line ${i} corner ${j}: (${sx}, ${sy}) on the page for (${x}, ${y}) in the image, shown at ${JSON.stringify(img)}`);
        });
      }
      assert.ok(OCR_LINES.every((l, i) => api.lines[i]!.text.toLowerCase().replace(/\s/g, '').includes(l.toLowerCase().replace(/\s/g, '').slice(0, 5))), 'top to bottom');

      const boxes = page.locator('[data-testid="ocr-boxes"] g');
      const onBoxes = () => boxes.evaluateAll((gs) => gs.map((g, i) => (g.classList.contains('on') ? i : -1)).filter((i) => i >= 0));
      const onLines = () => lines.locator('button').evaluateAll((bs) => bs.map((b, i) => (b.classList.contains('on') ? i : -1)).filter((i) => i >= 0));
      assert.deepEqual(await onBoxes(), []);
      await lines.locator('button').nth(1).hover();
      assert.deepEqual(await onBoxes(), [1], 'hovering line 2 highlights its box');
      await page.mouse.move(0, 0);
      assert.deepEqual(await onBoxes(), []);
      await lines.locator('button').nth(0).focus();
      assert.deepEqual(await onBoxes(), [0], 'focusing line 1 highlights its box');
      await lines.locator('button').nth(0).blur();
      const second = (await polygons.nth(1).boundingBox())!;
      await page.mouse.move(second.x + second.width / 2, second.y + second.height / 2);
      assert.deepEqual(await onLines(), [1], 'hovering box 2 highlights its line');
      assert.deepEqual(await onBoxes(), [1]);
      await shot(page, `playground-ocr-${scheme}`);
      await assertAccessible(page, `the OCR playground (${scheme})`);

      // Another engine, chosen in the page: the request carries it and every line names it.
      const paddle = (await apiUpload('/ocr?service=ocr&engine=paddle', ocrPng)).json as { lines: Array<{ text: string; engine: string }> };
      assert.deepEqual(paddle.lines.map((l) => l.engine), OCR_LINES.map(() => 'paddle'));
      await page.getByLabel('Engine').selectOption('paddle');
      await page.getByRole('button', { name: 'Read again' }).click();
      const engines = () => lines.locator('.ocr-engine').allTextContents();
      for (let i = 0; i < 600 && (await engines()).join() !== 'read by paddle,read by paddle'; i++) await page.waitForTimeout(100);
      assert.deepEqual(await engines(), ['read by paddle', 'read by paddle']);
      assert.deepEqual(await lines.locator('.ocr-text').allTextContents(), paddle.lines.map((l) => l.text));

      // Not an image: the server's own 400, and the chosen file is still named.
      const junk = Buffer.from('this is plain text, not a picture of any kind');
      const refused = await apiUpload('/ocr?service=ocr', junk);
      assert.equal(refused.status, 400);
      await page.getByLabel('Image to read').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: junk });
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 60_000 });
      assert.equal(await alert.locator('div').first().textContent(), `Error 400 (${refused.json.code}): ${refused.json.error}`);
      assert.match(await page.locator('figcaption').textContent() ?? '', /^notes\.png/);
      await page.getByRole('button', { name: 'Retry' }).waitFor();
      await shot(page, `playground-ocr-error-${scheme}`);
      await assertAccessible(page, `the OCR playground's error (${scheme})`);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  for (const scheme of SCHEMES) {
    test(`text classification (${scheme}): a label bar per label for each line, scores as the API gives them, adding up to 1`, async () => {
      const inputs = ['I love this great movie', 'what an awful boring film', 'the film was long'];
      const expected = await apiPost<Array<Array<{ label: string; score: number }>>>('/api/services/sentiment/predict', { inputs, parameters: { top_k: 1000 } });
      const { context, page, problems } = await openPlayground(scheme, 'sentiment');
      await page.getByLabel('Texts (one a line)').fill(inputs.join('\n'));
      await page.getByRole('button', { name: 'Classify' }).click();
      const results = page.getByTestId('classification').locator(':scope > li');
      await results.first().waitFor();
      assert.equal(await results.count(), 3);
      for (const [i, want] of expected.entries()) {
        const bars = results.nth(i).getByRole('list', { name: `Scores of text ${i + 1}` }).locator('li');
        assert.deepEqual(await bars.locator('.lb-label').allTextContents(), want.map((s) => s.label));
        assert.deepEqual(await bars.locator('.lb-score').allTextContents(), want.map((s) => s.score.toFixed(3)));
        const exact = await bars.evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-score'))));
        assert.ok(Math.abs(exact.reduce((a, b) => a + b, 0) - 1) < 1e-6, `softmax scores add up to 1: ${exact}`);
        const shown = (await bars.locator('.lb-score').allTextContents()).map(Number);
        assert.ok(Math.abs(shown.reduce((a, b) => a + b, 0) - 1) <= 0.001 + 1e-9, `the numbers shown add up to 1: ${shown}`);
        // Each bar's length is its score.
        const widths = await bars.evaluateAll((lis) => lis.map((li) => li.querySelector('.lb-fill')!.getBoundingClientRect().width / li.querySelector('.lb-track')!.getBoundingClientRect().width));
        widths.forEach((w, j) => assert.ok(Math.abs(w - want[j]!.score) < 0.01, `bar ${j}: ${w} vs ${want[j]!.score}`));
      }
      assert.deepEqual(expected.slice(0, 2).map((r) => r[0]!.label), ['POSITIVE', 'NEGATIVE']);
      await shot(page, `playground-text-classification-${scheme}`);
      await assertAccessible(page, `the text-classification playground (${scheme})`);
      assert.deepEqual(problems, []);
      await context.close();
    });

    test(`token classification (${scheme}): entities marked in the text with their type written out`, async () => {
      const { context, page, problems } = await openPlayground(scheme, 'ner');
      await page.getByLabel('Texts (one a line)').fill('John lives in Paris and works at Google\nnothing to see here');
      await page.getByRole('button', { name: 'Find entities' }).click();
      const texts = page.getByTestId('entities-text').locator(':scope > li');
      await texts.first().locator('mark').first().waitFor();
      assert.deepEqual(await texts.nth(0).locator('mark').allTextContents(), ['John PER', 'Paris LOC', 'Google ORG']);
      assert.equal(await texts.nth(0).textContent(), 'John PER lives in Paris LOC and works at Google ORG');
      assert.equal(await texts.nth(1).locator('mark').count(), 0);
      assert.equal(await texts.nth(1).textContent(), 'nothing to see here');
      assert.deepEqual(await page.getByRole('table').locator('tbody th').allTextContents(), ['John', 'Paris', 'Google']);
      assert.equal(await page.getByRole('status').filter({ hasText: 'entities' }).textContent(), '3 entities in 2 texts.');
      await shot(page, `playground-token-classification-${scheme}`);
      await assertAccessible(page, `the token-classification playground (${scheme})`);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  test('zero-shot classification: candidate labels scored per line, best first', async () => {
    const inputs = ['I love playing football', 'pizza for dinner'];
    const candidate_labels = ['sports', 'politics', 'food'];
    const expected = await apiPost<Array<{ labels: string[]; scores: number[] }>>('/api/services/zeroshot/predict', { inputs, parameters: { candidate_labels, multi_label: false } });
    const { context, page, problems } = await openPlayground('light', 'zeroshot');
    await page.getByLabel('Texts (one a line)').fill(inputs.join('\n'));
    await page.getByLabel('Candidate labels (comma-separated)').fill(candidate_labels.join(', '));
    await page.getByRole('button', { name: 'Classify' }).click();
    const results = page.getByTestId('classification').locator(':scope > li');
    await results.first().waitFor();
    for (const [i, want] of expected.entries()) {
      assert.deepEqual(await results.nth(i).locator('.lb-label').allTextContents(), want.labels);
      assert.deepEqual(await results.nth(i).locator('.lb-score').allTextContents(), want.scores.map((s) => s.toFixed(3)));
    }
    assert.deepEqual(expected.map((r) => r.labels[0]), ['sports', 'food']);
    await shot(page, 'playground-zero-shot');
    await assertAccessible(page, 'the zero-shot playground');
    assert.deepEqual(problems, []);
    await context.close();
  });

  for (const scheme of SCHEMES) {
    test(`image model (${scheme}): cnn takes an uploaded PNG, previews it and shows the API's top-5 classes; the tensor form still predicts`, async () => {
      const api = await apiUpload('/api/v1/models/cnn/prediction', photo);
      assert.equal(api.status, 200, JSON.stringify(api.json));
      const row = (api.json.values as number[][])[0]!;
      assert.equal(row.length, 10);
      const top5 = row.map((score, i) => ({ i, score })).sort((a, b) => b.score - a.score).slice(0, 5);

      const { context, page, problems } = await openWatched(browser, scheme);
      await loginAs(page, server.url, server.adminKey);
      await page.goto(`${server.url}/ui/models/cnn/playground`);
      await page.getByRole('heading', { level: 1, name: 'Playground: cnn' }).waitFor();
      assert.equal(await page.getByRole('radio', { name: 'Image upload' }).isChecked(), true, 'an image model opens on image upload');
      assert.equal(await page.getByRole('button', { name: 'Predict' }).isDisabled(), true, 'nothing to predict before an image is chosen');
      await page.getByLabel('Image', { exact: true }).setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: photo });
      const preview = page.getByRole('img', { name: 'The image gradient.png' });
      await preview.waitFor();
      await page.waitForFunction("document.querySelector('.ic-figure img')?.naturalWidth === 48");
      await page.getByRole('button', { name: 'Predict' }).click();
      const topK = page.getByTestId('top-k');
      await topK.locator('li').first().waitFor();
      assert.equal(await topK.getByRole('heading').textContent(), 'Top 5 of 10 classes');
      assert.deepEqual(await topK.locator('.lb-label').allTextContents(), top5.map((c) => `class ${c.i}`));
      assert.deepEqual(await topK.locator('.lb-score').allTextContents(), top5.map((c) => `${(c.score * 100).toFixed(1)} %`));
      await page.getByLabel('Classes shown').selectOption('3');
      assert.equal(await topK.locator('li').count(), 3);
      await shot(page, `playground-image-${scheme}`);
      await assertAccessible(page, `the image playground (${scheme})`);

      // The tensor form is one click away and still predicts: 3 × 32 × 32 zeros.
      await page.getByRole('radio', { name: 'Tensor values' }).check();
      await page.getByLabel(/^image/).fill(Array(3 * 32 * 32).fill('0').join(' '));
      await page.getByRole('button', { name: 'Predict' }).click();
      const out = page.locator('output[data-output="probabilities"]');
      await out.waitFor();
      const zeros = await apiPost<{ values: number[][] }>('/api/v1/models/cnn/prediction', { values: [Array(3).fill(Array(32).fill(Array(32).fill(0)))] });
      assert.equal(await out.textContent(), zeros.values[0]!.map((v) => +v.toFixed(4)).join(', '));
      await assertAccessible(page, `the tensor form of an image model (${scheme})`);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
});
