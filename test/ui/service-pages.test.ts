/**
 * The UI's service pages end to end in real Chromium: a text-generation service
 * started from the Services page with a model from the local profile's registry
 * (a tiny GPT-2 laid out as a Hugging Face cache snapshot under CORRAL_HOME/hub)
 * goes STARTING → RUNNING without a reload, in this tab and another; its detail
 * page's chat streams, Stop keeps the partial text, Regenerate answers again;
 * the Logs, Config and API tabs; a tiny BERT's embeddings playground draws a
 * symmetric similarity matrix with 1.00 on the diagonal; a FAILED service shows
 * its reason and log tail. No console error and no request off 127.0.0.1
 * anywhere. Screenshots go to test-results/ui/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import { bearer, startAuthServer } from '../auth/auth-helpers.js';
import { writeHfCacheSnapshot, writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';
import type { TestServer } from '../helpers/test-server.js';
import { launchBrowser, loginAs, openWatched, shot, type Watched } from './browser.js';

const COMMIT = 'fedcba9876543210fedcba9876543210fedcba98';
const GPT2 = 'tiny-org/tiny-gpt2';
const BERT = 'tiny-org/tiny-bert';

let server: TestServer & { adminKey: string };
let browser: Browser;

const open = (colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> => openWatched(browser, colorScheme);
const login = (page: Page): Promise<void> => loginAs(page, server.url, server.adminKey);

async function createService(body: Record<string, unknown>): Promise<{ id: string; status: string; reason: string | null }> {
  const res = await fetch(`${server.url}/api/services?wait=true`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json() as { id: string; status: string; reason: string | null };
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

/**
 * Holds the page's first chat stream after its first three events (the role
 * chunk and two tokens) until the test calls `window.__releaseStream()`, so
 * Stop lands mid-reply however fast the tiny model generates. The tokens are
 * the server's own; only their delivery to the page is paced.
 */
const GATE = `(() => {
  const original = window.fetch.bind(window);
  let used = false;
  window.__streamEvents = () => -1;
  window.fetch = async (input, init) => {
    const res = await original(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (used || !url.includes('/v1/chat/completions') || !res.ok || !res.body) return res;
    used = true;
    let release;
    const gate = new Promise((r) => { release = r; });
    window.__releaseStream = () => release();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const events = [];
    let buffer = '';
    let ended = false;
    let wake = () => {};
    (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true }));
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at;
        while ((at = buffer.indexOf('\\n\\n')) >= 0) { events.push(buffer.slice(0, at + 2)); buffer = buffer.slice(at + 2); }
        wake();
      }
      ended = true;
      wake();
    })();
    let sent = 0;
    window.__streamEvents = () => sent;
    const body = new ReadableStream({
      async pull(controller) {
        for (;;) {
          if (sent >= 3) await gate;
          if (sent < events.length) { controller.enqueue(encoder.encode(events[sent++])); return; }
          if (ended) { controller.close(); return; }
          await new Promise((r) => { wake = r; });
        }
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
})();`;

before(async () => {
  browser = await launchBrowser();
  server = await startAuthServer({ workers: 1 });
  // The local profile's registry scans CORRAL_HOME/hub: put a tiny GPT-2 and a tiny BERT there, as huggingface_hub would.
  writeHfCacheSnapshot(join(server.home, 'hub'), GPT2, COMMIT, writeTinyGpt2(join(server.home, 'src-models', 'gpt2')));
  writeHfCacheSnapshot(join(server.home, 'hub'), BERT, COMMIT, writeTinyBert(join(server.home, 'src-models', 'bert'), { task: 'feature-extraction' }));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('service pages', () => {
  test('start a service from the registry: the server\'s validation message, then STARTING → RUNNING live, in this tab and another', async () => {
    const { context, page, problems } = await open();
    await login(page);
    const other = await context.newPage();
    await other.goto(`${server.url}/ui/services`);
    await other.getByRole('heading', { level: 1, name: 'Services' }).waitFor();

    await page.getByText('Start a new service').click();
    await page.getByLabel('Task', { exact: true }).selectOption('text-generation');
    assert.equal(await page.getByLabel('Profile', { exact: true }).inputValue(), 'local');
    const model = page.getByLabel('Model', { exact: true });
    await model.locator('option', { hasText: GPT2 }).waitFor({ state: 'attached' });
    await model.selectOption({ label: (await model.locator('option', { hasText: GPT2 }).textContent())! });
    assert.equal(await page.getByLabel('Name').inputValue(), 'tiny-gpt2', 'the name defaults to the model\'s');

    // A bad name: the server's own message, with the form kept.
    await page.getByLabel('Name').fill('../chat');
    await page.getByRole('button', { name: 'Start service' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText(/Invalid model name/).waitFor();
    assert.match(await alert.textContent() ?? '', /Error 400/);
    assert.equal(await page.getByLabel('Name').inputValue(), '../chat');
    await shot(page, 'start-service-error');

    await page.evaluate('window.__sameDocument = true');
    await page.getByLabel('Name').fill('chat-ui');
    await page.getByRole('button', { name: 'Start service' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'Service chat-ui is' });
    await notice.waitFor();
    assert.match(await notice.textContent() ?? '', /chat-ui is STARTING/, 'the new service starts as STARTING');
    const row = page.getByRole('row', { name: /chat-ui/ });
    await row.waitFor();
    await row.getByText('RUNNING').waitFor({ timeout: 60_000 });
    assert.match(await row.textContent() ?? '', /text-generation.*tiny-org\/tiny-gpt2.*local/);
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload');
    await other.getByRole('row', { name: /chat-ui/ }).getByText('RUNNING').waitFor();
    await shot(page, 'start-service-running');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('chat streams; Stop keeps the partial text; Regenerate answers again with time to first token and tokens/s', async () => {
    const { context, page, problems } = await open();
    await context.addInitScript(GATE);
    await login(page);
    await page.getByRole('link', { name: 'chat-ui' }).click();
    await page.getByRole('heading', { level: 1, name: 'chat-ui' }).waitFor();
    const playgroundTab = page.getByRole('tab', { name: 'Playground' });
    assert.equal(await playgroundTab.getAttribute('aria-selected'), 'true', 'a RUNNING service opens on its playground');

    await page.getByLabel('Message').fill('tick');
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.getByTestId('reply').last();
    await page.waitForFunction(() => (globalThis as unknown as { __streamEvents(): number }).__streamEvents() === 3);
    await page.locator('.msg[data-state="streaming"]').waitFor();
    await page.getByTestId('reply').filter({ hasText: /\w/ }).waitFor();
    await shot(page, 'chat-streaming');
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.msg[data-state="stopped"]').waitFor();
    const partial = await reply.textContent();
    assert.equal(partial, ' the cat', 'the two tokens that came before Stop are kept');
    assert.match(await page.getByTestId('reply-meta').last().textContent() ?? '', /Stopped: partial reply kept/);
    await page.evaluate('window.__releaseStream()');
    await page.getByRole('button', { name: 'Send' }).waitFor();
    assert.equal(await reply.textContent(), partial, 'what came after Stop is not added');
    await shot(page, 'chat-stopped');

    await page.getByRole('button', { name: 'Regenerate' }).click();
    await page.locator('.msg[data-state="done"]').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.msg-assistant').count(), 1, 'Regenerate replaces the last reply');
    assert.equal(await reply.textContent(), ' the cat sat on a mat.', 'the tiny GPT-2\'s whole greedy reply');
    const meta = await page.getByTestId('reply-meta').last().textContent() ?? '';
    assert.match(meta, /^Done\./);
    assert.match(meta, /first token after \d+ ms/);
    assert.match(meta, /8 tokens/, 'seven word tokens and <|endoftext|>, from the usage');
    assert.match(meta, /[\d.]+ tokens\/s/);
    await shot(page, 'chat-done');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('Logs follow the service, filter by search and download as .txt; Config and API tabs', async () => {
    const { context, page, problems } = await open('dark');
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await login(page);
    await page.goto(`${server.url}/ui/services/chat-ui?tab=logs`);
    const tab = page.getByRole('tab', { name: 'Logs' });
    assert.equal(await tab.getAttribute('aria-selected'), 'true');
    const log = page.getByTestId('log-lines');
    await log.getByText('STARTING → RUNNING').waitFor();
    await shot(page, 'service-logs-dark');
    const all = await log.locator('.log-line').count();
    assert.ok(all >= 2, `some lines: ${all}`);

    await page.getByLabel('Search').fill('starting (profile');
    await page.getByRole('status').filter({ hasText: ` of ${all} lines` }).waitFor();
    for (const line of await log.locator('.log-line').allTextContents()) assert.match(line, /starting \(profile/i);
    await page.getByLabel('Search').fill('');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .txt' }).click()]);
    assert.equal(download.suggestedFilename(), 'chat-ui-logs.txt');
    const text = readFileSync((await download.path())!, 'utf8');
    assert.match(text, /event STARTING → RUNNING/);

    // Arrow keys move between tabs.
    await tab.focus();
    await page.keyboard.press('ArrowRight');
    const config = page.getByRole('tabpanel');
    await config.getByText('Model path').waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Config' }).getAttribute('aria-selected'), 'true');
    assert.match(await config.textContent() ?? '', new RegExp(`models--tiny-org--tiny-gpt2/snapshots/${COMMIT}`));
    await shot(page, 'service-config-dark');

    await page.keyboard.press('ArrowRight');
    await page.locator('#tab-api[aria-selected="true"]').waitFor();
    const curl = page.getByRole('figure', { name: /curl/ });
    await curl.waitFor();
    assert.match(await curl.textContent() ?? '', new RegExp(`${server.url}/v1/chat/completions`));
    assert.match(await page.getByRole('figure', { name: /OpenAI client/ }).textContent() ?? '', /client\.chat\.completions\.create\(\s*model="chat-ui"/);
    await page.getByRole('button', { name: 'Copy curl' }).click();
    await curl.getByText('Copied').waitFor();
    assert.match(await page.evaluate<string>('navigator.clipboard.readText()'), /^curl -X POST/);
    await shot(page, 'service-api-dark');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the embeddings playground: a symmetric similarity matrix with 1.00 on the diagonal', async () => {
    await createService({ name: 'bert-ui', task: 'feature-extraction', model: BERT });
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await login(page);
      await page.goto(`${server.url}/ui/services/bert-ui`);
      await page.getByRole('heading', { level: 1, name: 'bert-ui' }).waitFor();
      await page.getByLabel('Sentences (one a line)').fill('the cat sat\nthe cat sat on a mat\nhello world');
      await page.getByRole('button', { name: 'Compare' }).click();
      const matrix = page.getByTestId('similarity');
      await matrix.waitFor();
      const rows = await matrix.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      assert.equal(rows.length, 3);
      for (let i = 0; i < 3; i++) {
        assert.equal(rows[i]!.length, 3);
        assert.equal(rows[i]![i], '1.00', `diagonal ${i}`);
        for (let j = 0; j < 3; j++) {
          assert.match(rows[i]![j]!, /^-?\d\.\d\d$/);
          assert.equal(rows[i]![j], rows[j]![i], `symmetric at ${i},${j}`);
        }
      }
      await shot(page, `embeddings-${scheme}`);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  test('a FAILED service shows its reason and its log tail; its playground stays closed', async () => {
    const dir = join(server.home, 'broken-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{"model_type": "bert"}');
    const broken = await createService({ name: 'broken-ui', task: 'feature-extraction', model: dir });
    assert.equal(broken.status, 'FAILED');
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'broken-ui' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('The service failed').waitFor();
    assert.ok((await alert.textContent() ?? '').includes(broken.reason!), 'the reason, as the server gave it');
    await page.getByTestId('log-tail').getByText(/RUNNING → FAILED|STARTING → FAILED/).waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Playground' }).isDisabled(), true);
    assert.equal(await page.getByRole('tab', { name: 'Logs' }).getAttribute('aria-selected'), 'true');
    await shot(page, 'service-failed');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
