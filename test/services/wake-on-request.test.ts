/**
 * Scale to zero on the local profile: a service with idle_minutes goes
 * SLEEPING when idle (never with a request in flight) and the next request
 * wakes it, once, holding the requests that arrive meanwhile.
 *
 * The idle check runs on a clock the test moves (IdleReaper's `now`); services
 * that are not about the production timer have idle_minutes 30, so only the
 * test's reaper puts them to sleep. A wake that must last a while uses the
 * service's own max_queue_delay_microseconds: its start probe waits that long
 * in the batcher before it runs.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { IdleReaper } from '../../src/services/index.js';
import { writeTinyBert } from '../fixtures/transformers/index.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

interface ServiceView {
  id: string; name: string; status: string; reason: string | null;
  idle_minutes: number | null; wake_on_request: boolean; wake_max_queued: number | null; wake_timeout_s: number | null;
  last_request_at: string | null; sleeping_since: string | null; held_requests: number;
}
interface ErrorBody { code: string; error: string }

let server: TestServer;
/** The test's idle reaper: its clock is now + `ahead` ms. */
let ahead = 0;
let reaper: IdleReaper;

before(async () => {
  server = await startTestServer();
  reaper = new IdleReaper({ registry: server.corral.services, runner: server.corral.runner, now: () => Date.now() + ahead });
});
after(async () => { await server.close(); });
// Each test's services go away after it: the test's reaper sees only those of the test running.
afterEach(async () => {
  for (const s of server.corral.services.list().filter((x) => x.name.startsWith('wk-'))) {
    assert.equal((await fetch(`${server.url}/api/services/${s.id}`, { method: 'DELETE' })).status, 200);
  }
});

const get = async (name: string) => (await (await fetch(`${server.url}/api/services/${name}`)).json()) as ServiceView;

/** Polls a service until `ok` holds (at most `timeoutMs`), returning the last view. */
async function waitUntil(name: string, ok: (s: ServiceView) => boolean, timeoutMs = 20_000): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await get(name);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`${name}: condition not met; last ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function create(body: Record<string, unknown>): Promise<ServiceView> {
  const res = await postJson(`${server.url}/api/services?wait=true`, { task: 'feature-extraction', runtime: 'embed', ...body });
  assert.equal(res.status, 201, await res.clone().text());
  const created = (await res.json()) as ServiceView;
  assert.equal(created.status, 'RUNNING', created.reason ?? '');
  return created;
}

/** Puts `name` to sleep with the test's reaper (its clock far past idle_minutes). */
async function putToSleep(name: string): Promise<ServiceView> {
  ahead = 24 * 3600_000;
  try {
    assert.deepEqual(await reaper.tick(), [name]);
  } finally {
    ahead = 0;
  }
  const s = await get(name);
  assert.equal(s.status, 'SLEEPING');
  return s;
}

const embed = (service: string, text: string) => postJson(`${server.url}/embed`, { sentences: [text], service });

async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('scale to zero and wake on request (local)', () => {
  test('create and PATCH take the settings; bad values are 400', async () => {
    const created = await create({ name: 'wk-settings', idle_minutes: 30, wake_max_queued: 7, wake_timeout_s: 12.5 });
    assert.equal(created.idle_minutes, 30);
    assert.equal(created.wake_on_request, true, 'on by default with idle_minutes');
    assert.equal(created.wake_max_queued, 7);
    assert.equal(created.wake_timeout_s, 12.5);
    assert.equal(created.held_requests, 0);
    assert.equal(created.sleeping_since, null);
    const patched = await postJson(`${server.url}/api/services/wk-settings`, { wake_on_request: false, idle_minutes: 0.5 }, 'PATCH');
    assert.equal(patched.status, 200, await patched.clone().text());
    const view = (await patched.json()) as ServiceView;
    assert.equal(view.wake_on_request, false);
    assert.equal(view.idle_minutes, 0.5);
    assert.equal(view.wake_max_queued, 7);
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['POST', { name: 'wk-bad1', task: 'feature-extraction', idle_minutes: 0 }, /idle_minutes/],
      ['POST', { name: 'wk-bad2', task: 'feature-extraction', wake_max_queued: 0 }, /wake_max_queued/],
      ['POST', { name: 'wk-bad3', task: 'feature-extraction', wake_timeout_s: -1 }, /wake_timeout_s/],
      ['POST', { name: 'wk-bad4', task: 'feature-extraction', wake_on_request: 'yes' }, /wake_on_request/],
      ['PATCH', { replicas: 3 }, /replicas|additional/i],
      ['PATCH', {}, /at least 1|fewer than 1|minProperties/i],
      ['PATCH', { wake_max_queued: 1.5 }, /wake_max_queued/],
    ];
    for (const [method, body, message] of bad) {
      const res = await postJson(`${server.url}/api/services${method === 'PATCH' ? '/wk-settings' : ''}`, body, method);
      assert.equal(res.status, 400, `${method} ${JSON.stringify(body)}`);
      assert.match(((await res.json()) as ErrorBody).error, message);
    }
  });

  test('with a small idle_minutes the gateway puts an idle service to sleep by itself', async () => {
    await create({ name: 'wk-timer', idle_minutes: 0.01 });
    const sleeping = await waitUntil('wk-timer', (s) => s.status === 'SLEEPING', 30_000);
    assert.ok(sleeping.sleeping_since, 'sleeping_since is set');
    assert.match(sleeping.reason ?? '', /idle_minutes/);
    assert.equal(await metric('corral_service_sleeps_total{service="wk-timer"}'), 1);
  });

  test('20 concurrent requests to a SLEEPING service: one wake, all 20 answered through the batcher', async () => {
    // A 1 s queue delay: the wake's probe waits that long, so every request arrives while it wakes.
    await create({ name: 'wk-many', idle_minutes: 30, max_queue_delay_microseconds: 1_000_000 });
    await putToSleep('wk-many');
    const texts = Array.from({ length: 20 }, (_, i) => `sentence number ${i}`);
    const answers = await Promise.all(texts.map((t) => embed('wk-many', t)));
    assert.deepEqual(answers.map((r) => r.status), texts.map(() => 200));
    const embeddings = await Promise.all(answers.map(async (r) => ((await r.json()) as { embeddings: number[][] }).embeddings[0]));
    // The same texts through the built-in embed service (same runtime) give the same vectors.
    const expected = ((await (await postJson(`${server.url}/embed`, { sentences: texts })).json()) as { embeddings: number[][] }).embeddings;
    assert.deepEqual(embeddings, expected);
    const view = await get('wk-many');
    assert.equal(view.status, 'RUNNING');
    assert.equal(view.sleeping_since, null);
    assert.equal(view.held_requests, 0);
    assert.ok(view.last_request_at, 'last_request_at is shown');
    assert.equal(await metric('corral_service_wakes_total{service="wk-many",outcome="ok"}'), 1);
    assert.equal(await metric('corral_service_wake_seconds_count{service="wk-many"}'), 1);
    const logs = (await (await fetch(`${server.url}/api/services/wk-many/logs`)).json()) as { lines: Array<{ text: string }> };
    const events = logs.lines.map((l) => l.text);
    const woken = events.indexOf('SLEEPING → SUBMITTED: woken by request');
    assert.ok(woken >= 0, events.join('\n'));
    assert.deepEqual(events.slice(woken), ['SLEEPING → SUBMITTED: woken by request', 'SUBMITTED → STARTING: woken by request', 'STARTING → RUNNING']);
  });

  test('past wake_max_queued held requests get 429 with Retry-After', async () => {
    await create({ name: 'wk-full', idle_minutes: 30, wake_max_queued: 3, max_queue_delay_microseconds: 2_000_000 });
    await putToSleep('wk-full');
    const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => embed('wk-full', `text ${i}`)));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    for (const r of answers.filter((a) => a.status === 429)) {
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal(((await r.json()) as ErrorBody).code, 'WAKE_QUEUE_FULL');
    }
    assert.equal(await metric('corral_service_wakes_total{service="wk-full",outcome="ok"}'), 1);
  });

  test('a held request whose client disconnects leaves the queue', async () => {
    await create({ name: 'wk-gone', idle_minutes: 30, max_queue_delay_microseconds: 3_000_000 });
    await putToSleep('wk-gone');
    const stays = embed('wk-gone', 'I wait');
    const payload = JSON.stringify({ sentences: ['I leave'], service: 'wk-gone' });
    const leaving = request(`${server.url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
    const leavingDone = new Promise<void>((resolve) => { leaving.on('error', () => resolve()); leaving.on('close', () => resolve()); });
    leaving.end(payload);
    await waitUntil('wk-gone', (s) => s.held_requests === 2);
    leaving.destroy();
    await leavingDone;
    const after = await waitUntil('wk-gone', (s) => s.held_requests === 1);
    assert.equal(after.status === 'SUBMITTED' || after.status === 'STARTING', true, after.status);
    assert.equal((await stays).status, 200);
    assert.equal((await get('wk-gone')).held_requests, 0);
  });

  test('the idle reaper never puts a service to sleep with a request in flight', async () => {
    // The request waits 1.5 s in the batcher: in flight all that time.
    await create({ name: 'wk-busy', idle_minutes: 30, max_queue_delay_microseconds: 1_500_000 });
    const running = embed('wk-busy', 'busy');
    const { runner, services } = server.corral;
    const id = services.get('wk-busy').id;
    for (let i = 0; runner.activity(id).inFlight === 0; i++) {
      assert.ok(i < 400, 'the request reached the service');
      await new Promise((r) => setTimeout(r, 5));
    }
    ahead = 24 * 3600_000;
    try {
      assert.deepEqual(await reaper.tick(), []);
      assert.equal((await get('wk-busy')).status, 'RUNNING');
      assert.equal((await running).status, 200);
      assert.deepEqual(await reaper.tick(), ['wk-busy']);
    } finally {
      ahead = 0;
    }
    assert.equal((await get('wk-busy')).status, 'SLEEPING');
    // Not idle long enough on the real clock: the test's reaper leaves a fresh wake alone.
    assert.equal((await embed('wk-busy', 'again')).status, 200);
    assert.deepEqual(await reaper.tick(), []);
    assert.equal((await get('wk-busy')).status, 'RUNNING');
  });

  test('a start that fails gives every held request 503 with the reason', async () => {
    const dir = join(server.home, 'wk-bert');
    await writeTinyBert(dir, { task: 'feature-extraction' });
    await create({ name: 'wk-broken', runtime: 'transformers', model: dir, idle_minutes: 30 });
    await putToSleep('wk-broken');
    // The model breaks while the service sleeps: the wake's probe cannot load it.
    rmSync(dir, { recursive: true, force: true });
    await writeTinyBert(dir, { task: 'feature-extraction' });
    writeFileSync(join(dir, 'config.json'), '{"model_type": "bert"}');
    for (const f of ['model.onnx', join('onnx', 'model.onnx')]) rmSync(join(dir, f), { force: true });
    const answers = await Promise.all([0, 1, 2].map((i) => embed('wk-broken', `text ${i}`)));
    assert.deepEqual(answers.map((r) => r.status), [503, 503, 503]);
    const failed = await get('wk-broken');
    assert.equal(failed.status, 'FAILED');
    for (const r of answers) {
      const body = (await r.json()) as ErrorBody;
      assert.equal(body.code, 'SERVICE_NOT_READY');
      assert.equal(body.error, `Service 'wk-broken' did not wake: it is FAILED: ${failed.reason}.`);
    }
    assert.equal(await metric('corral_service_wakes_total{service="wk-broken",outcome="failed"}'), 1);
  });

  test('a STOPPED service is not woken, nor one without wake_on_request; stop makes a SLEEPING one STOPPED; start wakes it', async () => {
    await create({ name: 'wk-stopped', idle_minutes: 30 });
    await putToSleep('wk-stopped');
    const stopped = await postJson(`${server.url}/api/services/wk-stopped/stop`, {});
    assert.equal(((await stopped.json()) as ServiceView).status, 'STOPPED');
    const refused = await embed('wk-stopped', 'hello');
    assert.equal(refused.status, 503);
    assert.match(((await refused.json()) as ErrorBody).error, /is STOPPED/);
    assert.equal((await get('wk-stopped')).status, 'STOPPED');

    await create({ name: 'wk-nowake', idle_minutes: 30, wake_on_request: false });
    await putToSleep('wk-nowake');
    const asleep = await embed('wk-nowake', 'hello');
    assert.equal(asleep.status, 503);
    assert.match(((await asleep.json()) as ErrorBody).error, /is SLEEPING/);
    assert.equal((await get('wk-nowake')).status, 'SLEEPING');
    const started = await postJson(`${server.url}/api/services/wk-nowake/start?wait=true`, {});
    assert.equal(((await started.json()) as ServiceView).status, 'RUNNING');
    assert.equal((await embed('wk-nowake', 'hello')).status, 200);
  });
});
