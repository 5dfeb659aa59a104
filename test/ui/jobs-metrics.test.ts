/**
 * The Jobs and Metrics pages end to end in real Chromium: a job submitted from
 * the form opens its page and finishes there with its result, the list follows
 * live and filters by state and service on the server, a queued job (on a
 * gateway that runs no job: CORRAL_JOB_CONCURRENCY 0) is cancelled after a
 * confirmation; the metrics charts of iris (queue depth, batch size, errors)
 * with table views holding the numbers, and a service page's Metrics tab for
 * one model. Every page in light and dark: axe-core clean, no console error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import { bearer, startAuthServer } from '../auth/auth-helpers.js';
import { irisBody, labelsOf, waitFor } from '../helpers/scale-out.js';
import { uploadModel, type TestServer } from '../helpers/test-server.js';
import { assertAccessible, launchBrowser, loginAs, openWatched, shot, type Watched } from './browser.js';

type Server = TestServer & { adminKey: string };
let server: Server; // runs jobs; iris uploaded
let held: Server; // runs no job: every job stays queued
let browser: Browser;

const BAD_REQUESTS = 3;

const open = (colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> => openWatched(browser, colorScheme);

before(async () => {
  browser = await launchBrowser();
  const env = { CORRAL_METRICS_SAMPLE_MS: '500' };
  [server, held] = await Promise.all([startAuthServer({ workers: 1 }, env), startAuthServer({ workers: 1, jobConcurrency: 0 }, env)]);
  const res = await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey);
  assert.equal(res.status, 201, await res.text());
});

after(async () => {
  await browser?.close();
  await server?.close();
  await held?.close();
});

interface JobView { id: string; state: string; service: string }
async function submit(s: Server, body: unknown): Promise<JobView> {
  const res = await fetch(`${s.url}/api/jobs`, { method: 'POST', headers: { ...bearer(s.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 202, await res.clone().text());
  return res.json() as Promise<JobView>;
}

const rowIds = async (page: Page) => page.locator('tbody tr[data-job]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));

/** Opens every table view of a metrics card and reads one chart's table as rows of cells. */
async function table(page: Page, scope: ReturnType<Page['locator']>, title: string): Promise<string[][]> {
  const figure = scope.locator('figure.chart', { has: page.locator('figcaption', { hasText: new RegExp(`^${title} \\(`) }) });
  const details = figure.locator('details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  return details.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));
}

describe('metrics charts', () => {
  test('after 50 iris requests and 3 bad ones: queue depth, batch size and error charts with table views holding the numbers, light and dark', async () => {
    const infer = (body: unknown) => fetch(`${server.url}/v2/models/iris.onnx/infer`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Five at a time, so some batches may hold more than one row.
    for (let i = 0; i < 50; i += 5) {
      const answers = await Promise.all(Array.from({ length: 5 }, () => infer(irisBody([[5.1, 3.5, 1.4, 0.2]]))));
      for (const a of answers) assert.equal(a.status, 200);
    }
    for (let i = 0; i < BAD_REQUESTS; i++) assert.equal((await infer({ inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] })).status, 400);
    const sent = Date.now();
    await waitFor('a sample after the requests', async () => {
      const view = await (await fetch(`${server.url}/api/metrics/series`, { headers: bearer(server.adminKey) })).json() as { t: number[] };
      return (view.t.at(-1) ?? 0) > sent + 500;
    });

    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await loginAs(page, server.url, server.adminKey);
      await page.getByRole('link', { name: 'Metrics' }).click();
      const card = page.locator('article[data-model="iris.onnx"]');
      await card.waitFor();
      assert.equal(await card.locator('canvas').count(), 5, 'latency, throughput, errors, queue depth, batch size');
      assert.deepEqual(await card.locator('figcaption').allTextContents(), ['Latency (ms)', 'Throughput (req/s)', 'Errors (errors/s)', 'Queue depth (rows)', 'Batch size (rows/batch)']);

      const errors = await table(page, card, 'Errors');
      assert.ok(errors.length > 0, 'the errors table has samples');
      const counted = errors.reduce((n, r) => n + (r[2] === '–' ? 0 : Number(r[2])), 0);
      assert.equal(counted, BAD_REQUESTS, `error counts per sample add up to the bad requests: ${JSON.stringify(errors)}`);
      assert.equal(await card.getByTestId('error-total').textContent(), `${BAD_REQUESTS} errors (HTTP status 400 or more) in this window`);
      assert.ok(errors.some((r) => Number(r[1]) > 0), 'some sample has an error rate');

      const queue = await table(page, card, 'Queue depth');
      assert.ok(queue.length > 0 && queue.every((r) => /^\d+(\.\d+)?$/.test(r[1]!)), `queue depth has numbers: ${JSON.stringify(queue)}`);
      assert.equal(queue[0]![1], '0', 'nothing waits once the requests are answered');
      const batches = await table(page, card, 'Batch size');
      const sizes = batches.map((r) => r[1]).filter((v) => v !== '–').map(Number);
      assert.ok(sizes.length > 0 && sizes.every((n) => n >= 1 && n <= 5), `mean batch sizes between 1 and 5 rows: ${sizes.join(' ')}`);
      const rates = await table(page, card, 'Throughput');
      assert.ok(rates.some((r) => Number(r[1]) > 0), 'requests per second');
      const latency = await table(page, card, 'Latency');
      assert.ok(latency.some((r) => Number(r[1]) > 0 && Number(r[2]) >= Number(r[1])), 'p50 <= p99');
      assert.equal(await card.locator('details table').count(), 5, 'one table view per chart');

      await shot(page, `metrics-charts-${scheme}`);
      await assertAccessible(page, `metrics with table views in ${scheme}`);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  test('a service page\'s Metrics tab shows the same charts for its model only, and says so for a service with no requests', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await loginAs(page, server.url, server.adminKey);
      await page.goto(`${server.url}/ui/services/iris.onnx?tab=metrics`);
      assert.equal(await page.getByRole('tab', { name: 'Metrics' }).getAttribute('aria-selected'), 'true');
      const section = page.locator('section[data-model="iris.onnx"]');
      await section.getByRole('heading', { level: 2, name: 'Metrics of iris.onnx' }).waitFor();
      await section.locator('canvas').nth(4).waitFor();
      assert.equal(await section.locator('canvas').count(), 5);
      assert.equal(await section.getByTestId('error-total').textContent(), `${BAD_REQUESTS} errors (HTTP status 400 or more) in this window`);
      const errors = await table(page, section, 'Errors');
      assert.equal(errors.reduce((n, r) => n + (r[2] === '–' ? 0 : Number(r[2])), 0), BAD_REQUESTS);
      await section.getByLabel('Window').selectOption('1h');
      await page.waitForResponse((r) => r.url().endsWith('/api/metrics/series?window=1h') && r.status() === 200);
      await shot(page, `service-metrics-${scheme}`);
      await assertAccessible(page, `ServiceMetrics in ${scheme}`);

      await page.goto(`${server.url}/ui/services/ocr?tab=metrics`);
      await page.getByText('No requests to ocr in this window.', { exact: false }).waitFor();
      assert.equal(await page.locator('canvas').count(), 0);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });
});

describe('jobs', () => {
  test('a job submitted from the form opens its page, which shows the result live; the list shows it and follows new jobs live', async () => {
    const { context, page, problems } = await open();
    await loginAs(page, server.url, server.adminKey);
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    await page.locator('summary', { hasText: 'Submit a job' }).click();
    await page.getByLabel('Service or model').selectOption('iris.onnx');
    const input = page.getByLabel('Input (JSON body of the route)');
    assert.deepEqual(JSON.parse(await input.inputValue()), irisBody([[0, 0, 0, 0]]), 'an example shaped like the model\'s input');

    // A refused submission: the server's reason, the form kept.
    await input.fill('{"inputs": [');
    await page.getByRole('button', { name: 'Submit job' }).click();
    assert.match(await page.locator('#job-input-error').textContent() ?? '', /^The input is not JSON/);
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    const body = JSON.stringify(irisBody([[6.7, 3.0, 5.2, 2.3]]));
    await input.fill(body);
    await page.getByLabel('Webhook URL (optional)').fill('http://127.0.0.1:9/hook');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.getByRole('alert').getByText(/Webhook address 127\.0\.0\.1 is a loopback address/).waitFor();
    assert.equal(await input.inputValue(), body);
    await shot(page, 'jobs-submit-refused');

    await page.getByLabel('Webhook URL (optional)').fill('');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/\/ui\/jobs\/[^/?]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.getByRole('heading', { level: 1, name: `Job ${id}` }).waitFor();
    await page.getByTestId('job-state').getByText('completed').waitFor();
    assert.deepEqual(labelsOf(JSON.parse(await page.getByTestId('job-result').textContent() ?? '')), [2]);
    assert.equal(await page.getByTestId('job-status-code').textContent(), '200');
    assert.deepEqual(JSON.parse(await page.getByTestId('job-request').textContent() ?? ''), JSON.parse(body));
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'no Cancel once finished');
    await shot(page, 'job-completed');
    await assertAccessible(page, 'a completed job');

    await page.getByRole('link', { name: 'Jobs', exact: true }).last().click();
    const row = page.locator(`tr[data-job="${id}"]`);
    await row.getByText('completed').waitFor();
    // A job submitted elsewhere joins the list as it runs, without a reload.
    const other = await submit(server, { service: 'iris.onnx', input: irisBody([[5.1, 3.5, 1.4, 0.2]]) });
    await page.locator(`tr[data-job="${other.id}"]`).getByText('completed').waitFor();
    assert.deepEqual((await rowIds(page)).slice(0, 2), [other.id, id], 'newest first');
    await shot(page, 'jobs-list');
    await assertAccessible(page, 'the jobs list');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a failed job shows its error; the list filters by state and service on the server, live', async () => {
    const failed = await submit(server, { service: 'iris.onnx', input: { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] } });
    const keyterms = await submit(server, { service: 'keyterms', input: { sentences: ['Filters narrow the job list.'] } });
    const { context, page, problems } = await open('dark');
    await loginAs(page, server.url, server.adminKey);
    await page.goto(`${server.url}/ui/jobs/${failed.id}`);
    await page.getByTestId('job-state').getByText('failed').waitFor();
    assert.match(await page.getByTestId('job-error').textContent() ?? '', /^Input 'float_input' must have shape \[-1,4\] \(-1 = any size\), got \[1,3\]\.$/);
    assert.equal(await page.getByTestId('job-status-code').textContent(), '400');
    // Submitted through the API, not this tab: the request comes from the gateway.
    assert.deepEqual(JSON.parse(await page.getByTestId('job-request').textContent() ?? ''), { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    await shot(page, 'job-failed-dark');
    await assertAccessible(page, 'a failed job in dark');

    await page.goto(`${server.url}/ui/jobs`);
    await page.locator(`tr[data-job="${keyterms.id}"]`).getByText('completed').waitFor();
    assert.equal((await rowIds(page)).length, 4);
    const listed = page.waitForResponse((r) => r.url().includes('/api/jobs?') && r.url().includes('state=failed'));
    await page.getByLabel('State').selectOption('failed');
    assert.equal((await listed).status(), 200);
    await waitFor('only the failed job', async () => JSON.stringify(await rowIds(page)) === JSON.stringify([failed.id]));
    assert.match(page.url(), /\/ui\/jobs\?state=failed$/);
    await page.getByLabel('State').selectOption('completed');
    await waitFor('the three completed jobs', async () => (await rowIds(page)).length === 3);
    await page.getByLabel('Service', { exact: true }).selectOption('keyterms');
    await waitFor('the keyterms job', async () => JSON.stringify(await rowIds(page)) === JSON.stringify([keyterms.id]));
    assert.match(page.url(), /\?state=completed&service=keyterms$/);
    await shot(page, 'jobs-filtered-dark');
    await assertAccessible(page, 'the filtered jobs list in dark');
    await page.getByLabel('State').selectOption('cancelled');
    await page.getByText('No jobs in state cancelled for keyterms.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await waitFor('every job', async () => (await rowIds(page)).length === 4);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a queued job is cancelled from its page after a confirmation, and shows cancelled live; a queued filter drops it live', async () => {
    const job = await submit(held, { service: 'keyterms', input: { sentences: ['never runs'] } });
    const second = await submit(held, { service: 'keyterms', input: { sentences: ['cancelled elsewhere'] } });
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await loginAs(page, held.url, held.adminKey);
      await page.goto(`${held.url}/ui/jobs/${job.id}`);
      await page.getByTestId('job-state').getByText('queued').waitFor();
      await page.locator('.connection-live').waitFor();
      await shot(page, `job-queued-${scheme}`);
      await assertAccessible(page, `a queued job in ${scheme}`);
      await context.close();
      assert.deepEqual(problems, []);
    }

    const { context, page, problems } = await open();
    await loginAs(page, held.url, held.adminKey);
    await page.goto(`${held.url}/ui/jobs/${job.id}`);
    await page.getByTestId('job-state').getByText('queued').waitFor();
    // Said no: nothing happens.
    await page.getByRole('button', { name: 'Cancel job' }).click();
    const dialog = page.getByRole('dialog', { name: `Cancel job ${job.id}?` });
    await dialog.waitFor();
    await shot(page, 'job-confirm-cancel');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await (await fetch(`${held.url}/api/jobs/${job.id}`, { headers: bearer(held.adminKey) })).json() as JobView).state, 'queued');
    // Said yes, by keyboard: Cancel has the focus, the next button confirms.
    await page.getByRole('button', { name: 'Cancel job' }).focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByTestId('job-state').getByText('cancelled').waitFor();
    await page.getByText('This job was cancelled before it ran.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0);
    assert.equal((await (await fetch(`${held.url}/api/jobs/${job.id}`, { headers: bearer(held.adminKey) })).json() as JobView).state, 'cancelled');
    await shot(page, 'job-cancelled');

    // The second job's page, then its cancellation by someone else: the page follows.
    await page.goto(`${held.url}/ui/jobs/${second.id}`);
    await page.getByTestId('job-state').getByText('queued').waitFor();
    await page.goto(`${held.url}/ui/jobs?state=queued`);
    await waitFor('the queued job listed', async () => JSON.stringify(await rowIds(page)) === JSON.stringify([second.id]));
    const res = await fetch(`${held.url}/api/jobs/${second.id}`, { method: 'DELETE', headers: bearer(held.adminKey) });
    assert.equal(res.status, 200);
    await page.getByText('No jobs in state queued.').waitFor();
    await page.getByLabel('State').selectOption('cancelled');
    await waitFor('both cancelled jobs', async () => JSON.stringify(await rowIds(page)) === JSON.stringify([second.id, job.id]));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
