/**
 * The UI's admin pages end to end in real Chromium: Models (an iris upload by
 * drag and drop with progress and Cancel, its signature, description, batching
 * with the server's validation message, Replace → version 2, Delete), the
 * Registry (a Hugging Face snapshot on disk, Refresh, "Start service" opening
 * the form pre-filled), Profiles (create, a rejected one with the input kept,
 * edit, delete; `local` cannot be deleted), API keys (the secret shown once,
 * usable, revoked → 401) and what a read-only key sees. Every page passes
 * axe-core in light and dark with no console error and no request off
 * 127.0.0.1. Screenshots go to test-results/ui/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from '@playwright/test';
import { bearer, createKey, startAuthServer } from '../auth/auth-helpers.js';
import { writeHfCacheSnapshot, writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { uploadModel, type TestServer } from '../helpers/test-server.js';
import { assertAccessible, launchBrowser, loginAs, openWatched, shot, type Watched } from './browser.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const GPT2 = 'tiny-org/tiny-gpt2';
/** A GPT-2 whose name looks like an embedding model's: its task must come from its config.json, not its name. */
const OTHER = 'tiny-org/other-bert';

let server: TestServer & { adminKey: string };
let browser: Browser;
let gpt2Dir: string;

const open = (colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> => openWatched(browser, colorScheme);
const login = (page: Page, key = server.adminKey): Promise<void> => loginAs(page, server.url, key);

/** What the server itself says to a request, so the UI's message can be compared with it exactly. */
async function serverMessage(method: string, path: string, body: unknown): Promise<{ status: number; message: string }> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json() as { error?: unknown; http_status?: { description: string } };
  return { status: res.status, message: json.http_status?.description ?? String(json.error) };
}

async function getJson<T>(path: string, key = server.adminKey): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, { headers: bearer(key) });
  return { status: res.status, body: await res.json() as T };
}

before(async () => {
  browser = await launchBrowser();
  server = await startAuthServer({ workers: 1 });
  gpt2Dir = writeTinyGpt2(join(server.home, 'src-models', 'gpt2'));
  writeHfCacheSnapshot(join(server.home, 'hub'), GPT2, COMMIT, gpt2Dir);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('admin pages', () => {
  test('Models: drop iris (progress, Cancel), its signature, description, batching (a 400 keeps the typed value), Replace → version 2, Delete', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Models', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
    const irisName = basename(server.models.iris!);
    assert.equal(irisName, 'iris.onnx');

    // A drop onto the zone, with a DataTransfer built in the page (as a file dragged from the desktop arrives).
    // (Scripts as strings: this file is type-checked without the DOM library.)
    const drop = async () => page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(${JSON.stringify([...readFileSync(server.models.iris!)])})], ${JSON.stringify(irisName)}, { type: 'application/octet-stream' }));
      const zone = document.querySelector('[data-testid="dropzone"]');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);

    // Hold the upload's answer so the progress and Cancel can be seen (and used) however fast the machine is.
    let release!: () => void;
    let held = new Promise<void>((r) => { release = r; });
    await page.route('**/api/v1/models/iris.onnx', async (route) => {
      if (route.request().method() !== 'PUT') return route.continue();
      await held;
      await route.continue().catch(() => undefined); // a cancelled upload has nothing left to continue
    });

    await drop();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'iris.onnx');
    assert.equal(await page.evaluate<string>('document.getElementById("model-file").files[0].name'), 'iris.onnx', 'the dropped file is in the input');
    assert.match(await page.locator('#model-file-hint').textContent() ?? '', /Chosen: iris\.onnx \(\d+(\.\d)? (B|KiB)\)/);

    // Cancel: nothing changes on the server.
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const progress = page.getByRole('progressbar', { name: 'Upload progress' });
    await progress.waitFor();
    assert.match(await page.getByTestId('upload-state').textContent() ?? '', /^(\d{1,3}%|Validating…)$/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('status').filter({ hasText: 'Upload cancelled: nothing was changed.' }).waitFor();
    assert.equal(await progress.count(), 0);
    assert.deepEqual((await getJson<{ model_list: string[] }>('/api/v1/models')).body.model_list, []);
    release(); // lets the held, aborted request go (it has nowhere to go)

    // The real upload: progress shown while it runs, then the signature the server read.
    held = new Promise<void>((r) => { release = r; });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await progress.waitFor();
    const fraction = Number(await progress.getAttribute('value'));
    assert.ok(fraction >= 0 && fraction <= 1, `progress is a fraction: ${fraction}`);
    assert.equal(await page.getByRole('button', { name: 'Upload', exact: true }).isDisabled(), true, 'no second upload while one runs');
    await shot(page, 'admin-models-upload-progress');
    release();
    await page.getByRole('status').filter({ hasText: 'Model iris.onnx uploaded (version 1)' }).waitFor();
    await page.unroute('**/api/v1/models/iris.onnx');
    const described = (await getJson<{ inputs: Array<{ name: string; datatype: string; shape: number[] }>; outputs: Array<{ name: string; datatype: string; shape: number[] }> }>('/api/v1/models/iris.onnx')).body;
    const dims = (s: number[]) => `[${s.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
    const expected = [...described.inputs.map((t) => `Input ${t.name} ${t.datatype} ${dims(t.shape)}`), ...described.outputs.map((t) => `Output ${t.name} ${t.datatype} ${dims(t.shape)}`)];
    const signature = page.getByRole('table', { name: 'Signature of iris.onnx, version 1' });
    const rows = await signature.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent).join(' ')));
    assert.deepEqual(rows, expected);
    assert.equal(expected[0], 'Input float_input FP32 [?, 4]');
    const row = page.locator('tr[data-model="iris.onnx"]');
    await row.getByText('float_input').waitFor();
    assert.equal(await row.locator('td').first().textContent(), '1');
    await shot(page, 'admin-models-uploaded');
    await assertAccessible(page, 'models after an upload');

    // Settings: the description, then batching.
    await page.getByRole('button', { name: 'Settings of iris.onnx' }).click();
    assert.equal(await page.getByRole('button', { name: 'Settings of iris.onnx' }).getAttribute('aria-expanded'), 'true');
    await page.getByRole('textbox', { name: 'Description' }).fill('Iris species from four measurements');
    await page.getByRole('button', { name: 'Save description' }).click();
    await page.getByRole('status').filter({ hasText: 'Description of model iris.onnx updated' }).waitFor();
    await row.getByText('Iris species from four measurements').waitFor();

    const batch = page.getByLabel('Max batch size');
    const before = (await getJson<{ dynamic_batching: { max_batch_size: number } }>('/api/v1/models/iris.onnx/config')).body;
    const refused = await serverMessage('PATCH', '/api/v1/models/iris.onnx/config', { max_batch_size: -1 });
    assert.equal(refused.status, 400);
    await batch.fill('-1');
    await page.getByRole('button', { name: 'Save batching' }).click();
    const alert = page.getByRole('alert').filter({ hasText: refused.message });
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /^Error 400 \(BAD_REQUEST\):/);
    assert.match(refused.message, /max_batch_size/);
    assert.equal(await batch.inputValue(), '-1', 'what was typed is kept');
    assert.equal(await batch.getAttribute('aria-invalid'), 'true', 'the field the server named is marked');
    assert.deepEqual((await getJson<{ dynamic_batching: { max_batch_size: number } }>('/api/v1/models/iris.onnx/config')).body.dynamic_batching, before.dynamic_batching);
    await shot(page, 'admin-models-batching-400');
    await assertAccessible(page, 'models with a batching error');

    await batch.fill('8');
    await page.getByLabel('Max queue delay (µs)').fill('2000');
    await page.getByLabel('Timeout (ms)').fill('5000');
    await page.getByRole('button', { name: 'Save batching' }).click();
    await page.getByRole('status').filter({ hasText: 'Batching of model iris.onnx updated' }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.equal(await batch.getAttribute('aria-invalid'), null);
    const config = (await getJson<{ dynamic_batching: { max_batch_size: number; max_queue_delay_microseconds: number }; timeout_ms: number }>('/api/v1/models/iris.onnx/config')).body;
    assert.deepEqual({ ...config.dynamic_batching, timeout_ms: config.timeout_ms }, { max_batch_size: 8, max_queue_delay_microseconds: 2000, timeout_ms: 5000 });
    await row.getByText('up to 8, wait 2000 µs').waitFor();
    await shot(page, 'admin-models-settings-saved');
    await page.getByRole('button', { name: 'Close' }).click();

    // Replace: the same name again asks first, says it becomes version 2, and does.
    await page.getByLabel('Model file (.onnx)').setInputFiles(server.models.iris!);
    assert.match(await page.locator('#model-name-hint').textContent() ?? '', /iris\.onnx exists \(version 1\): uploading replaces it as version 2\./);
    await page.getByRole('button', { name: 'Replace…' }).click();
    const replace = page.getByRole('dialog', { name: 'Replace iris.onnx?' });
    await replace.waitFor();
    assert.match(await replace.textContent() ?? '', /replaces version 1 and becomes version 2/);
    await shot(page, 'admin-models-replace-confirm');
    await replace.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row.locator('td').first().textContent(), '1', 'Cancel replaces nothing');
    await page.getByRole('button', { name: 'Replace…' }).click();
    await replace.getByRole('button', { name: 'Replace' }).click();
    await page.getByRole('status').filter({ hasText: 'Model iris.onnx replaced (version 2)' }).waitFor();
    await row.locator('td').first().filter({ hasText: /^2$/ }).waitFor();
    assert.equal((await getJson<{ version: number }>('/api/v1/models/iris.onnx')).body.version, 2);

    // Delete, confirmed.
    await page.getByRole('button', { name: 'Delete iris.onnx' }).click();
    const del = page.getByRole('dialog', { name: 'Delete iris.onnx?' });
    await del.waitFor();
    assert.match(await del.textContent() ?? '', /Version 2 and its file are deleted/);
    await del.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await getJson('/api/v1/models/iris.onnx')).status, 404);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('Registry: lists the profile\'s snapshot, Refresh finds a new one, "Start service" opens the form pre-filled', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Registry' }).click();
    await page.getByRole('heading', { level: 1, name: 'Registry' }).waitFor();
    const local = page.getByRole('region', { name: /^local/ });
    const gpt2 = local.getByRole('row', { name: new RegExp(GPT2) });
    await gpt2.waitFor();
    assert.deepEqual(await gpt2.locator('th, td').evaluateAll((cells) => cells.slice(0, 4).map((c) => c.textContent)), [GPT2, COMMIT.slice(0, 12), 'text-generation', 'home']);
    assert.equal(await local.getByRole('row', { name: new RegExp(OTHER) }).count(), 0);

    // A snapshot that appears on disk later is found by Refresh (the list before it comes from the database).
    writeHfCacheSnapshot(join(server.home, 'hub'), OTHER, COMMIT, gpt2Dir);
    await page.reload();
    await gpt2.waitFor();
    assert.equal(await local.getByRole('row', { name: new RegExp(OTHER) }).count(), 0, 'not re-scanned without Refresh');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await local.getByRole('row', { name: new RegExp(OTHER) }).waitFor();
    await page.getByRole('button', { name: 'Refresh' }).waitFor();
    await shot(page, 'admin-registry');
    await assertAccessible(page, 'registry');

    const other = local.getByRole('row', { name: new RegExp(OTHER) });
    assert.equal(await other.locator('td').nth(1).textContent(), 'text-generation', 'the task of its config.json, not of its name');

    await page.getByRole('link', { name: `Start service with ${OTHER} on local` }).click();
    await page.getByRole('heading', { level: 1, name: 'Services' }).waitFor();
    const url = new URL(page.url());
    assert.equal(url.pathname, '/ui/services');
    assert.equal(url.searchParams.get('model'), OTHER);
    const model = page.getByLabel('Model', { exact: true });
    await model.locator('option', { hasText: OTHER }).waitFor({ state: 'attached' });
    await page.waitForFunction(`document.getElementById('start-model')?.value === ${JSON.stringify(`${OTHER}@${COMMIT}`)}`);
    assert.equal(await page.getByLabel('Task', { exact: true }).inputValue(), 'text-generation');
    assert.equal(await page.getByLabel('Profile', { exact: true }).inputValue(), 'local');
    assert.equal(await model.inputValue(), `${OTHER}@${COMMIT}`);
    assert.equal(await page.getByLabel('Name').inputValue(), 'other-bert');
    await shot(page, 'admin-registry-start-prefilled');
    await assertAccessible(page, 'services with the pre-filled start form');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('Profiles: local cannot be deleted; create (a bad one rejected with the server\'s message, input kept), edit, delete', async () => {
    const { context, page, problems } = await open();
    await login(page);
    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.getByRole('heading', { level: 1, name: 'Profiles' }).waitFor();
    const local = page.getByRole('row', { name: /^local/ });
    await local.waitFor();
    assert.equal(await local.getByRole('button', { name: 'Delete local' }).count(), 0);
    assert.equal(await local.getByText('built in: cannot be deleted').count(), 1);
    assert.equal(await local.getByRole('button', { name: 'Edit local' }).count(), 1);

    await page.getByRole('button', { name: 'New profile' }).click();
    await page.getByRole('heading', { name: 'New profile' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('hpc');
    await page.getByLabel('Type').selectOption('slurm');
    await page.getByLabel('Login node').fill('localhost');
    await page.getByLabel('Partition').fill('gpu');
    await page.getByLabel('Time limit').fill('soon');
    const refused = await serverMessage('POST', '/api/profiles', { name: 'hpc', type: 'slurm', host: 'localhost', partition: 'gpu', time_limit: 'soon' });
    assert.equal(refused.status, 400);
    assert.equal(refused.message, "Profile 'hpc': time_limit must be minutes or [days-]hours:minutes:seconds, got 'soon'.");
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('alert').filter({ hasText: refused.message }).waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'hpc');
    assert.equal(await page.getByLabel('Time limit').inputValue(), 'soon');
    assert.equal(await page.getByLabel('Partition').inputValue(), 'gpu');
    assert.equal(await page.getByLabel('Time limit').getAttribute('aria-invalid'), 'true', 'the field the server named is marked');
    assert.equal(await page.getByLabel('Partition').getAttribute('aria-invalid'), null);
    await shot(page, 'admin-profiles-400');
    await assertAccessible(page, 'profiles with a rejected profile');

    await page.getByLabel('Time limit').fill('1:00:00');
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('status').filter({ hasText: 'Profile hpc created.' }).waitFor();
    const hpc = page.getByRole('row', { name: /^hpc/ });
    await hpc.getByText('partition gpu, time 1:00:00').waitFor();
    assert.deepEqual((await getJson<Record<string, unknown>>('/api/profiles/hpc')).body, {
      name: 'hpc', type: 'slurm', host: 'localhost', user: null, port: null, identity_file: null, home_dir: null, cache_dir: null,
      partition: 'gpu', time_limit: '1:00:00', gpus: null, memory: null, cpus: null,
      project: null, zone: null, region: null, instances: null, endpoint_url: null,
      start_command: null, stop_command: null, status_command: null, max_restarts: null,
    });

    await page.getByRole('button', { name: 'Edit hpc' }).click();
    await page.getByRole('heading', { name: 'Edit profile hpc' }).waitFor();
    assert.equal(await page.getByLabel('Partition').inputValue(), 'gpu');
    await page.getByLabel('Partition').fill('cpu');
    await page.getByLabel('GPUs').fill('2');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByRole('status').filter({ hasText: 'Profile hpc saved.' }).waitFor();
    await hpc.getByText('partition cpu, time 1:00:00, 2 GPU').waitFor();
    const edited = (await getJson<{ partition: string; gpus: number; time_limit: string }>('/api/profiles/hpc')).body;
    assert.deepEqual([edited.partition, edited.gpus, edited.time_limit], ['cpu', 2, '1:00:00']);
    await shot(page, 'admin-profiles');
    // A field emptied in the form is cleared, not kept.
    await page.getByRole('button', { name: 'Edit hpc' }).click();
    await page.getByLabel('Time limit').fill('');
    await page.getByLabel('GPUs').fill('');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await hpc.getByText('partition cpu', { exact: true }).waitFor();
    const cleared = (await getJson<{ partition: string; gpus: number | null; time_limit: string | null }>('/api/profiles/hpc')).body;
    assert.deepEqual([cleared.partition, cleared.gpus, cleared.time_limit], ['cpu', null, null]);

    await page.getByRole('button', { name: 'Delete hpc' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete profile hpc?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Profile hpc deleted.' }).waitFor();
    await hpc.waitFor({ state: 'detached' });
    assert.equal((await getJson('/api/profiles/hpc')).status, 404);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('API keys: a bad limit is rejected with the input kept; a key is created (secret shown once, copied), works, is revoked (then 401)', async () => {
    const { context, page, problems } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await login(page);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    const boxes = page.getByRole('group', { name: 'Scopes' }).getByRole('checkbox');
    const names = await boxes.evaluateAll((bs) => bs.map((b) => b.parentElement!.textContent));
    const scopes = await Promise.all(names.map(async (n, i) => `${await boxes.nth(i).isChecked() ? '☑' : '☐'} ${n}`));
    assert.deepEqual(scopes, ['☑ read', '☑ infer', '☐ models:write', '☐ services:operate', '☐ services:write', '☐ metrics', '☐ admin']);

    await page.getByLabel('Name', { exact: true }).fill('lab-client');
    await page.getByRole('checkbox', { name: 'metrics' }).check();
    await page.getByLabel('Burst').fill('50');
    await page.getByLabel('Concurrent requests').fill('4');
    const refused = await serverMessage('POST', '/api/keys', { name: 'lab-client', scopes: ['read', 'infer', 'metrics'], rate_limit: { burst: 50, concurrency: 4 } });
    assert.equal(refused.status, 400);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('alert').filter({ hasText: refused.message }).waitFor();
    assert.match(refused.message, /requests_per_minute/);
    assert.equal(await page.getByLabel('Burst').inputValue(), '50');
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'lab-client');
    assert.equal(await page.getByRole('checkbox', { name: 'metrics' }).isChecked(), true);
    await shot(page, 'admin-keys-400');

    await page.getByLabel('Requests per minute').fill('600');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Key lab-client created' }).waitFor();
    const secret = await page.getByLabel('New API key').inputValue();
    assert.match(secret, /^corral_\S{20,}$/);
    assert.match(await page.locator('#secret-warning').textContent() ?? '', /shown only this once/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    await shot(page, 'admin-keys-secret');
    await assertAccessible(page, 'keys with a new secret');

    // It works from outside the browser, with the scopes and limits chosen.
    const models = await fetch(`${server.url}/api/v1/models`, { headers: bearer(secret) });
    assert.equal(models.status, 200);
    const listed = (await getJson<Array<Record<string, unknown>>>('/api/keys')).body.find((k) => k.name === 'lab-client')!;
    assert.deepEqual([listed.scopes, listed.rate_limit], [['read', 'infer', 'metrics'], { requests_per_minute: 600, burst: 50, concurrency: 4 }]);
    assert.ok(!JSON.stringify(listed).includes(secret) && !('key' in listed), 'the list never has the secret');

    // Once dismissed, the secret is gone from the page, and a reload cannot bring it back.
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.getByRole('status').filter({ hasText: 'Key lab-client is ready; its secret is no longer shown.' }).waitFor();
    assert.ok(!(await page.content()).includes(secret));
    await page.reload();
    const row = page.getByRole('row', { name: /^lab-client/ });
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret));
    assert.deepEqual(await row.locator('td').evaluateAll((cells) => cells.slice(0, 4).map((c) => c.textContent?.trim())), ['● active', 'read, infer, metrics', 'all', '600/min, burst 50, 4 at once']);

    await row.getByRole('button', { name: 'Revoke lab-client' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke lab-client?' });
    await dialog.waitFor();
    assert.match(await dialog.textContent() ?? '', /get 401 from now on/);
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').filter({ hasText: 'Key lab-client revoked.' }).waitFor();
    await row.locator('td').first().filter({ hasText: /^■ revoked/ }).waitFor();
    assert.equal(await row.getByRole('button', { name: 'Revoke lab-client' }).count(), 0);
    assert.equal((await fetch(`${server.url}/api/v1/models`, { headers: bearer(secret) })).status, 401);
    await shot(page, 'admin-keys-revoked');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a read-only key sees no API keys page, no upload, settings or delete, no profile edits and no Start service', async () => {
    assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey)).status, 201);
    const reader = await createKey(server.url, server.adminKey, { name: 'reader', scopes: ['read'] });
    const { context, page, problems } = await open();
    await login(page, reader.key);
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    assert.deepEqual(nav, ['Services', 'Models', 'Registry', 'Workers', 'Profiles']);

    await page.getByRole('link', { name: 'Models' }).click();
    await page.locator('tr[data-model="iris.onnx"]').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Upload an ONNX model' }).count(), 0);
    assert.equal(await page.getByRole('button').filter({ hasText: /Delete|Settings|Upload/ }).count(), 0);
    await shot(page, 'admin-models-read-only');

    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.getByRole('row', { name: /^local/ }).waitFor();
    assert.equal(await page.getByRole('button').filter({ hasText: /New profile|Edit|Delete/ }).count(), 0);

    await page.getByRole('link', { name: 'Registry' }).click();
    await page.getByRole('row', { name: new RegExp(GPT2) }).waitFor();
    assert.equal(await page.getByRole('link', { name: /Start service/ }).count(), 0);

    await page.goto(`${server.url}/ui/keys`);
    await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    assert.equal((await getJson('/api/keys', reader.key)).status, 403);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('every admin page passes axe-core in light and dark, with no console error or outside request', async () => {
    const pages = [['models', 'Models'], ['registry', 'Registry'], ['profiles', 'Profiles'], ['keys', 'API keys']] as const;
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page, problems } = await open(scheme);
      await login(page);
      for (const [path, title] of pages) {
        await page.goto(`${server.url}/ui/${path}`);
        await page.getByRole('heading', { level: 1, name: title }).waitFor();
        await page.locator('.connection-live').waitFor();
        await page.getByRole('status').filter({ hasText: /^Loading…$|^Scanning/ }).first().waitFor({ state: 'detached' });
        // The forms open too: they are what an admin works in.
        if (path === 'models') await page.getByRole('button', { name: 'Settings of iris.onnx' }).click();
        if (path === 'profiles') await page.getByRole('button', { name: 'New profile' }).click();
        if (path === 'profiles') await page.getByLabel('Type').selectOption('slurm');
        const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
        assert.equal(bg, scheme === 'dark' ? 'rgb(21, 23, 26)' : 'rgb(247, 247, 245)', `${path} in ${scheme}`);
        await shot(page, `admin-${path}-${scheme}`);
        await assertAccessible(page, `${path} in ${scheme}`);
      }
      assert.deepEqual(problems, []);
      await context.close();
    }
  });
});
