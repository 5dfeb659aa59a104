/**
 * The web UI end to end in real Chromium (Debian's /usr/bin/chromium, driven by
 * Playwright's library API under node:test): login, the live Services table,
 * stop and delete by keyboard, an iris upload, the tensor playground and its
 * errors (a 400 on the field it names, a forced 500 and 429), the metrics
 * charts, and every page in light and dark, each with no console error and no
 * request leaving 127.0.0.1. Screenshots go to test-results/ui/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import { startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/scale-out.js';
import { bearer, rawRequest, startAuthServer } from '../auth/auth-helpers.js';
import { assertAccessible, launchBrowser, loginAs, openWatched, shot, type Watched } from './browser.js';

let server: TestServer & { adminKey: string };
let browser: Browser;

const open = (colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> => openWatched(browser, colorScheme);
const login = (page: Page, key = server.adminKey): Promise<void> => loginAs(page, server.url, key);

before(async () => {
  browser = await launchBrowser();
  server = await startAuthServer({ workers: 1 }, { CORRAL_METRICS_SAMPLE_MS: '500' });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('web UI', () => {
  test('GET / redirects browsers to /ui/ and still greets MLBuffet clients in JSON; the UI is served with a CSP', async () => {
    const html = await rawRequest(`${server.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    assert.equal(html.status, 302);
    assert.equal(html.headers.location, '/ui/');
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const res = await rawRequest(`${server.url}/`, { headers: accept ? { accept } : {} });
      assert.equal(res.status, 200, `Accept: ${accept}`);
      assert.match(JSON.parse(res.body).http_status.description, /Greetings from Corral/);
    }
    for (const path of ['/ui/', '/ui', '/ui/models', '/ui/models/iris.onnx/playground', '/ui/services/iris.onnx']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /^default-src 'self'/, path);
      assert.match(await res.text(), /<div id="app">/, `${path} is the app (deep links fall back to index.html)`);
    }
    assert.equal((await fetch(`${server.url}/ui/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.url}/ui/favicon.ico`)).status, 404, 'a missing top-level file is not a page');
  });

  test('login with a key: a session cookie (HttpOnly, SameSite=Strict); Services loads live with no console error and nothing leaving 127.0.0.1', async () => {
    const { context, page, problems } = await open();
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.getByLabel('API key').fill('corral_not-a-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#key-error').waitFor();
    assert.equal(await page.getByLabel('API key').getAttribute('aria-invalid'), 'true');
    await shot(page, 'login-wrong-key');
    await login(page);
    await page.locator('.connection-live').waitFor();
    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, 'corral_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.ok(!cookie?.value.includes(server.adminKey), 'the cookie does not carry the key');
    await shot(page, 'services-empty');

    // The cookie authenticates reads; a write carrying it must come from the gateway's own pages.
    const headers = { cookie: `corral_session=${cookie!.value}` };
    assert.equal((await fetch(`${server.url}/api/services`, { headers })).status, 200);
    const noOrigin = await fetch(`${server.url}/api/services/x/stop`, { method: 'POST', headers });
    assert.equal(noOrigin.status, 403);
    assert.match(await noOrigin.text(), /session cookie/);
    const crossSite = await fetch(`${server.url}/api/services/x/stop`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' } });
    assert.equal(crossSite.status, 403);
    const sameOrigin = await fetch(`${server.url}/api/services/x/stop`, { method: 'POST', headers: { ...headers, origin: server.url } });
    assert.equal(sameOrigin.status, 404, 'a same-origin write with the cookie reaches the route');

    // Logout ends the session on the server: the old cookie is refused.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal((await fetch(`${server.url}/api/services`, { headers })).status, 401);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the Services table filters by status, task and profile, kept in the URL across a reload', async () => {
    const { context, page, problems } = await open();
    await login(page);
    const names = async () => page.locator('tbody th[scope="row"]').allTextContents();
    await page.locator('tbody th[scope="row"]').first().waitFor();
    assert.deepEqual(await names(), ['embed', 'keyterms', 'ocr'], 'the built-in services, unfiltered');
    await page.getByLabel('Filter by task').selectOption('keyterms');
    await page.waitForURL(/\/ui\/services\?task=keyterms$/);
    assert.deepEqual(await names(), ['keyterms']);
    await page.getByLabel('Filter by profile').selectOption('local');
    await page.getByLabel('Filter by status').selectOption('FAILED');
    await page.waitForURL(/\/ui\/services\?status=FAILED&task=keyterms&profile=local$/);
    await page.getByText('No services with status FAILED, task keyterms, profile local.').waitFor();
    await page.reload();
    await page.getByText('No services with status FAILED, task keyterms, profile local.').waitFor();
    assert.equal(await page.getByLabel('Filter by task').inputValue(), 'keyterms');
    await page.getByLabel('Filter by status').selectOption('');
    await page.waitForURL(/\/ui\/services\?task=keyterms&profile=local$/);
    assert.deepEqual(await names(), ['keyterms']);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a 401 returns to the login page', async () => {
    const { context, page, problems } = await open();
    await login(page);
    // The session ends behind the page's back (a logout in another tab): the next API call is a 401.
    const [cookie] = await context.cookies();
    const ended = await fetch(`${server.url}/api/session`, { method: 'DELETE', headers: { cookie: `corral_session=${cookie!.value}`, origin: server.url } });
    assert.equal(ended.status, 204);
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.getByText('Your session has ended: log in again.').waitFor();
    await page.getByLabel('API key').waitFor();
    await shot(page, 'login-after-401');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('stop and delete a service by keyboard alone, with a confirmation dialog; the table follows live', async () => {
    const created = await fetch(`${server.url}/api/services`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify({ task: 'keyterms', name: 'kt-ui' }) });
    assert.equal(created.status, 201, await created.text());
    const { context, page, problems } = await open();
    await login(page);
    const row = page.getByRole('row', { name: /kt-ui/ });
    await row.getByText('RUNNING').waitFor({ timeout: 60_000 });
    await shot(page, 'services-running');
    await page.getByRole('button', { name: 'Stop kt-ui' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Stop kt-ui?' });
    await dialog.waitFor();
    await shot(page, 'services-confirm-stop');
    await page.keyboard.press('Tab'); // Cancel has the focus; the next button confirms
    await page.keyboard.press('Enter');
    await row.getByText('STOPPED').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Delete kt-ui' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete kt-ui?' }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('row', { name: /kt-ui/ }).waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('upload iris on the Models page with a progress bar; it is listed, live, on Models and Services', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByLabel('Model file (.onnx)').setInputFiles(server.models.iris!);
    assert.equal(await page.getByLabel('Name').inputValue(), 'iris.onnx');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('status').filter({ hasText: 'Model iris.onnx uploaded (version 1)' }).waitFor();
    await page.getByRole('row', { name: /iris\.onnx/ }).getByText('float_input').waitFor();
    await shot(page, 'models');
    await page.getByRole('link', { name: 'Services' }).click();
    await page.getByRole('row', { name: /iris\.onnx/ }).getByText('RUNNING').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the iris playground predicts; a wrong count is shown on the field; a 500 and a 429 show the alert with the form still filled', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('row', { name: /iris\.onnx/ }).getByRole('link', { name: 'Playground' }).click();
    const field = page.getByLabel(/float_input/);
    await field.fill('5.1, 3.5, 1.4, 0.2\n6.7 3.0 5.2 2.3');
    await page.getByRole('button', { name: 'Predict' }).click();
    assert.equal(await page.locator('output[data-output="label"]').textContent(), '0, 2');
    await shot(page, 'playground-prediction');

    await field.fill('5.1, 3.5, 1.4');
    await page.getByRole('button', { name: 'Predict' }).click();
    const fieldError = page.locator('.field-error[data-field="float_input"]');
    await fieldError.waitFor();
    assert.match(await fieldError.textContent() ?? '', /Input 'float_input'.*needs 4 values, got 3/);
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    await shot(page, 'playground-field-error');

    await field.fill('5.1, 3.5, 1.4, 0.2');
    await page.route('**/v2/models/*/infer', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'The worker fell over (forced by the test).' }) }));
    await page.getByRole('button', { name: 'Predict' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('The worker fell over (forced by the test).').waitFor();
    assert.match(await alert.textContent() ?? '', /Error 500/);
    assert.equal(await field.inputValue(), '5.1, 3.5, 1.4, 0.2', 'what was typed is kept');
    await shot(page, 'playground-500');

    await page.unroute('**/v2/models/*/infer');
    await page.route('**/v2/models/*/infer', (route) => route.fulfill({ status: 429, headers: { 'retry-after': '30' }, contentType: 'application/json', body: JSON.stringify({ error: 'Rate limit: 600 requests a minute.' }) }));
    await alert.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('countdown').waitFor();
    const left = Number(await page.getByTestId('countdown').textContent());
    assert.ok(left > 25 && left <= 30, `counting down from 30: ${left}`);
    assert.equal(await page.getByRole('alert').getByRole('button', { name: 'Retry' }).isDisabled(), true);
    assert.equal(await field.inputValue(), '5.1, 3.5, 1.4, 0.2');
    await shot(page, 'playground-429');
    await page.waitForTimeout(1100);
    assert.ok(Number(await page.getByTestId('countdown').textContent()) < left, 'the countdown counts');

    await page.unroute('**/v2/models/*/infer');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the metrics page draws p50/p99 and throughput charts for iris after 50 requests, with a table view', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${server.url}/v2/models/iris.onnx/infer`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body });
      assert.equal(res.status, 200);
    }
    await new Promise((r) => setTimeout(r, 1200)); // a sample or two (CORRAL_METRICS_SAMPLE_MS=500)
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await login(page);
      await page.getByRole('link', { name: 'Metrics' }).click();
      const card = page.locator('article[data-model="iris.onnx"]');
      await card.waitFor();
      assert.equal(await card.locator('canvas').count(), 5, 'five uPlot charts: latency, throughput, errors, queue depth, batch size');
      // Each chart has its own table view; the throughput one holds requests per second.
      const throughput = card.locator('figure.chart', { hasText: 'Throughput' });
      await throughput.locator('summary').click();
      const rates = await throughput.locator('details tbody tr td:nth-child(2)').allTextContents();
      assert.ok(rates.some((r) => Number(r) > 0), `some sample has requests per second: ${rates.join(' ')}`);
      await shot(page, `metrics-table-${scheme}`);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  test('a dropped event stream shows Reconnecting…, then recovers with what changed while it was down', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
    await page.locator('.connection-live').waitFor();
    // New streams are refused and the open one is cut, as when the gateway restarts.
    await page.route('**/api/events', (route) => route.abort());
    server.app.server.closeAllConnections();
    await page.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
    await shot(page, 'reconnecting');
    const res = await uploadModel(server.url, 'cnn-while-down.onnx', server.models.cnn!, server.adminKey);
    assert.equal(res.status, 201, await res.text());
    await page.unroute('**/api/events');
    await page.locator('.connection-live').waitFor({ timeout: 15_000 });
    await page.getByRole('rowheader', { name: 'cnn-while-down.onnx' }).waitFor();
    // The refused streams and the cut one are logged by Chromium; nothing else may be.
    assert.deepEqual(problems.filter((p) => !/net::ERR_(FAILED|INCOMPLETE_CHUNKED_ENCODING)/.test(p)), []);
    await context.close();
  });

  test('every page renders in light and dark with no axe-core violation, the theme toggle is remembered, with no console error or outside request', async () => {
    const pages = [['services', 'Services'], ['models', 'Models'], ['workers', 'Workers'], ['jobs', 'Jobs'], ['metrics', 'Metrics'], ['models/iris.onnx/playground', 'Playground: iris.onnx']] as const;
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await login(page);
      for (const [path, title] of pages) {
        await page.goto(`${server.url}/ui/${path}`);
        await page.getByRole('heading', { level: 1, name: title }).waitFor();
        await page.locator('.connection-live').waitFor();
        const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
        assert.equal(bg, scheme === 'dark' ? 'rgb(21, 23, 26)' : 'rgb(247, 247, 245)', `${path} in ${scheme}`);
        await shot(page, `${path.replaceAll('/', '-')}-${scheme}`);
        await assertAccessible(page, `${path} in ${scheme}`);
      }
      assert.deepEqual(problems, []);
      await context.close();
    }
    // The toggle beats the system's scheme, and is remembered across a reload.
    const { context, page, problems } = await open('light');
    await login(page);
    await page.getByLabel('Theme').selectOption('dark');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Services' }).waitFor();
    assert.equal(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor'), 'rgb(21, 23, 26)');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('with CORRAL_AUTH=off there is no login', async () => {
    const open_ = await startTestServer({ workers: 1 });
    try {
      const { context, page, problems } = await open();
      await page.goto(`${open_.url}/ui/`);
      await page.getByRole('heading', { level: 1, name: 'Services' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
      await waitFor('the live stream', async () => (await page.locator('.connection-live').count()) > 0, 10_000);
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await open_.close();
    }
  });
});
