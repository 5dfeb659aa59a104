/**
 * The Neural Energy gateway API (docs/neural-energy.md, the reference in
 * ../shared/reference/003_*.txt): /run, /list_servers, /shutdown and the system
 * status, field by field, against a real gateway with the built-in embed and
 * keyterms services and an uploaded ONNX model; the CORRAL_NE_PORT listener;
 * auth; CORRAL_NE_ERRORS_200.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { systemStatus } from '../../src/gateway/neural-energy/system-status.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/scale-out.js';
import { bearer, createKey, startAuthServer } from '../auth/auth-helpers.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const GB = 1024 ** 3;
const round2 = (n: number) => Math.round(n * 100) / 100;
const SENTENCES = ['Corral serves models.', 'The quick brown fox jumps over the lazy dog.'];
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const SERVERS = ['embed', 'iris.onnx', 'keyterms', 'ocr'];
const STATUS_FIELDS = ['info', 'mem_avail', 'mem_gateway', 'mem_servers', 'mem_sys', 'mem_total', 'mem_used'];

interface WorkerView { id: string; pid: number; state: string; outstanding: number; loadedModels: string[]; rssBytes: number }
interface Status { SYSTEM_STATUS: Record<string, unknown> & { mem_servers: Record<string, number> }; time: string; ver: string }
type Json = Record<string, unknown>;

async function call(base: string, path: string, body: unknown, key?: string): Promise<{ status: number; json: Json }> {
  const res = await postJson(`${base}${path}`, body, 'POST', key);
  return { status: res.status, json: (await res.json()) as Json };
}

/** `time` is UTC, between two instants taken around the request (whole seconds, as it is printed). */
function assertTimeBetween(time: unknown, before: number, after: number): void {
  assert.match(String(time), TIME);
  const at = Date.parse(`${String(time).replace(' ', 'T')}Z`);
  assert.ok(at >= Math.floor(before / 1000) * 1000 && at <= after, `time ${String(time)} is within the request`);
}

const total = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await metric.get()).values.reduce((a, v) => a + v.value, 0);
const workers = async (base: string): Promise<WorkerView[]> => (await fetch(`${base}/api/workers`)).json() as Promise<WorkerView[]>;

describe('Neural Energy API (auth off)', () => {
  let server: TestServer;
  let embedKey: string;
  let keytermsKey: string;
  const base = () => server.url;

  before(async () => {
    server = await startTestServer({ workers: 2 }, { CORRAL_NE_PORT: '0' });
    const res = await uploadModel(server.url, 'iris.onnx', server.models.iris!);
    assert.equal(res.status, 201, await res.text());
    const services = (await (await fetch(`${server.url}/api/services`)).json()) as Array<{ id: string; name: string }>;
    const key = (name: string) => `service:${services.find((s) => s.name === name)!.id}@`;
    embedKey = key('embed');
    keytermsKey = key('keyterms');
  });
  after(async () => { await server.close(); });

  test('POST /list_servers: AVAIL_SERVERS are the running services, uploaded models included', async () => {
    const res = await call(base(), '/list_servers', {});
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { AVAIL_SERVERS: SERVERS });
    // Without any body, as some of its clients send it.
    const bare = await fetch(`${base()}/list_servers`, { method: 'POST' });
    assert.equal(bare.status, 200);
    assert.deepEqual(await bare.json(), { AVAIL_SERVERS: SERVERS });
  });

  test('/run embed: the /embed result plus call_id counted per service, signature, ver, worker_ver and time', async () => {
    const own = await call(base(), '/embed', { sentences: SENTENCES });
    assert.equal(own.status, 200);
    const t0 = Date.now();
    const first = await call(base(), '/run', { SIGNATURE: 'embed', sentences: SENTENCES });
    const t1 = Date.now();
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.deepEqual(Object.keys(first.json).sort(), ['call_id', 'embeddings', 'model', 'signature', 'time', 'ver', 'worker_ver']);
    assert.deepEqual(first.json.embeddings, own.json.embeddings);
    assert.equal(first.json.model, 'embed');
    assert.equal(first.json.call_id, 1);
    assert.equal(first.json.ver, VERSION);
    assert.equal(first.json.worker_ver, 'builtin');
    assertTimeBetween(first.json.time, t0, t1);
    assert.match(String(first.json.signature), /^embed:(worker-[01]|local)$/);

    // Once a worker reports holding the model, the signature names a worker that holds it.
    const holders = await waitFor('a worker reporting the embed model', async () => {
      const ids = (await workers(base())).filter((w) => w.loadedModels.some((k) => k.startsWith(embedKey))).map((w) => w.id);
      return ids.length > 0 && ids;
    });
    // Neural Energy's single text field, and a second call: call_id 2.
    const second = await call(base(), '/run', { SIGNATURE: 'embed', text: SENTENCES[1] });
    assert.equal(second.status, 200);
    assert.equal(second.json.call_id, 2);
    assert.deepEqual(second.json.embeddings, [(own.json.embeddings as unknown[])[1]]);
    assert.ok(holders.map((id) => `embed:${id}`).includes(String(second.json.signature)), `${String(second.json.signature)} names a holder of embed (${holders.join(', ')})`);
    const third = await call(base(), '/run', { SIGNATURE: 'embed', INPUT_VALUE: [SENTENCES[0]] });
    assert.equal(third.json.call_id, 3);
    assert.deepEqual(third.json.embeddings, [(own.json.embeddings as unknown[])[0]]);
  });

  test('/run keyterms: the /keyterms result, with its own call_id count', async () => {
    const own = await call(base(), '/keyterms', { sentences: SENTENCES, top: 3 });
    assert.equal(own.status, 200);
    const run = await call(base(), '/run', { SIGNATURE: 'keyterms', sentences: SENTENCES, top: 3 });
    assert.equal(run.status, 200, JSON.stringify(run.json));
    assert.deepEqual({ keyterms: run.json.keyterms, scores: run.json.scores, model: run.json.model }, own.json);
    assert.equal(run.json.call_id, 1);
    assert.equal((await call(base(), '/run', { SIGNATURE: 'keyterms', sentences: SENTENCES })).json.call_id, 2);
    assert.match(String(run.json.signature), /^keyterms:(worker-[01]|local)$/);
    assert.equal(run.json.worker_ver, 'builtin');
  });

  test('/run on an uploaded ONNX model: MLBuffet\'s prediction, worker_ver its version', async () => {
    const own = await call(base(), '/api/v1/models/iris.onnx/prediction', { values: [SETOSA, VIRGINICA] });
    assert.equal(own.status, 200);
    const run = await call(base(), '/run', { SIGNATURE: 'iris.onnx', values: [SETOSA, VIRGINICA] });
    assert.equal(run.status, 200, JSON.stringify(run.json));
    assert.deepEqual(run.json.values, own.json.values);
    assert.deepEqual(run.json.values, [0, 2]);
    assert.deepEqual(run.json.outputs, own.json.outputs);
    assert.equal(run.json.worker_ver, '1');
    assert.equal(run.json.call_id, 1);
    assert.match(String(run.json.signature), /^iris\.onnx:(worker-[01]|local)$/);
  });

  test('a missing or unknown SIGNATURE: ERROR naming the available servers, with a 4xx status', async () => {
    const list = "['embed', 'iris.onnx', 'keyterms', 'ocr']";
    const missing = await call(base(), '/run', { sentences: SENTENCES });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json, { ERROR: `Bad signature None. Available signatures/servers: ${list}`, code: 'BAD_REQUEST' });
    const unknown = await call(base(), '/run', { SIGNATURE: 'test_01', sentences: SENTENCES });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { ERROR: `Bad signature test_01. Available signatures/servers: ${list}`, code: 'SERVICE_NOT_FOUND' });
    // No body at all is a missing signature too.
    const empty = await fetch(`${base()}/run`, { method: 'POST' });
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as Json).ERROR, `Bad signature None. Available signatures/servers: ${list}`);
    // Bad input for a known server is the service's own error, in ERROR.
    const bad = await call(base(), '/run', { SIGNATURE: 'embed', sentences: 5 });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { ERROR: '"sentences" must be a string or a list of strings.', code: 'INVALID_INPUT' });
    const badTop = await call(base(), '/run', { SIGNATURE: 'keyterms', sentences: SENTENCES, top: 0 });
    assert.equal(badTop.status, 400);
    assert.equal(badTop.json.code, 'INVALID_INPUT');
    assert.match(String(badTop.json.ERROR), /^"top" /);
  });

  test('system status: the reference\'s fields, real numbers, mem_servers exactly the services whose workers hold models', async () => {
    // Every model used so far reported by its worker (workers report every 2 s).
    const loaded = await waitFor('workers reporting embed, keyterms and iris', async () => {
      const keys = (await workers(base())).flatMap((w) => w.loadedModels);
      return [embedKey, keytermsKey, 'iris.onnx@'].every((k) => keys.some((l) => l.startsWith(k))) && keys;
    });
    assert.deepEqual(new Set(loaded.map((k) => (k.startsWith(embedKey) ? 'embed' : k.startsWith(keytermsKey) ? 'keyterms' : k))), new Set(['embed', 'keyterms', 'iris.onnx@1']));
    const t0 = Date.now();
    const viaGet = (await (await fetch(`${base()}/system_status`)).json()) as Status;
    const viaRun = (await call(base(), '/run', { SIGNATURE: 'SYSTEM_STATUS' })).json as unknown as Status;
    const t1 = Date.now();
    for (const status of [viaGet, viaRun]) {
      assert.deepEqual(Object.keys(status).sort(), ['SYSTEM_STATUS', 'time', 'ver']);
      assert.equal(status.ver, VERSION);
      assertTimeBetween(status.time, t0, t1);
      const s = status.SYSTEM_STATUS;
      assert.deepEqual(Object.keys(s).sort(), STATUS_FIELDS);
      assert.match(String(s.info), /^Memory Size is in GB\./);
      assert.equal(s.mem_total, round2(totalmem() / GB));
      const [total, avail, gateway, used, sys] = [s.mem_total, s.mem_avail, s.mem_gateway, s.mem_used, s.mem_sys] as number[];
      assert.ok(avail! > 0 && avail! < total!, `mem_avail ${avail} within mem_total ${total}`);
      // The gateway is this process: tens of MB at least, less than the machine.
      assert.ok(gateway! >= 0.01 && gateway! < total!, `mem_gateway ${gateway}`);
      assert.deepEqual(Object.keys(s.mem_servers), ['embed', 'iris.onnx', 'keyterms']);
      for (const [name, gb] of Object.entries(s.mem_servers)) assert.ok(gb > 0 && gb < total!, `mem_servers.${name} = ${gb}`);
      assert.equal(used, round2(gateway! + Object.values(s.mem_servers).reduce((a, b) => a + b, 0)));
      assert.equal(sys, round2(Math.max(0, total! - avail! - used!)));
    }
  });

  test('systemStatus: each worker\'s memory shared among the services it holds; totals as the reference relates them', () => {
    const status = systemStatus({
      totalBytes: 16 * GB, availBytes: 10 * GB, gatewayRssBytes: 0.5 * GB,
      workers: [
        { state: 'ready', rssBytes: 2 * GB, loadedModels: ['service:e@1', 'service:k@1'] },
        { state: 'ready', rssBytes: 1 * GB, loadedModels: ['service:e@1'] },
        { state: 'ready', rssBytes: 0.25 * GB, loadedModels: [] }, // idle: counted in mem_sys
        { state: 'exited', rssBytes: 4 * GB, loadedModels: ['service:k@1'] },
        { state: 'ready', rssBytes: 1 * GB, loadedModels: ['gone@3'] }, // a model of no service
      ],
    }, (key) => ({ 'service:e@1': 'embed', 'service:k@1': 'keyterms' })[key], (name) => name !== 'keyterms');
    assert.deepEqual({ ...status, info: undefined }, {
      info: undefined, mem_avail: 10, mem_gateway: 0.5, mem_servers: { embed: 2 }, mem_sys: 2.5, mem_total: 16, mem_used: 3.5,
    });
  });

  test('CORRAL_NE_PORT: a second loopback listener with only the Neural Energy routes', async () => {
    assert.ok(server.neUrl, 'the listener started');
    const ne = new URL(server.neUrl);
    assert.equal(ne.hostname, '127.0.0.1');
    assert.notEqual(ne.port, new URL(server.url).port);
    assert.deepEqual((await call(server.neUrl, '/list_servers', {})).json, { AVAIL_SERVERS: SERVERS });
    const own = await call(base(), '/embed', { sentences: SENTENCES });
    const run = await call(server.neUrl, '/run', { SIGNATURE: 'embed', sentences: SENTENCES });
    assert.equal(run.status, 200);
    assert.deepEqual(run.json.embeddings, own.json.embeddings);
    const status = await fetch(`${server.neUrl}/system_status`);
    assert.equal(status.status, 200);
    assert.deepEqual(Object.keys((await status.json()) as Json).sort(), ['SYSTEM_STATUS', 'time', 'ver']);
    // Nothing else is served there.
    for (const path of ['/api/v1/models', '/embed', '/api/workers']) {
      const res = await fetch(`${server.neUrl}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as Json).code, 'NOT_FOUND');
    }
  });

  test('SAFE_KILL_SERVER_CMD restarts every worker while requests sent during it all get correct answers', async () => {
    const wrong = await call(base(), '/shutdown', { SIGNATURE: 'embed' });
    assert.equal(wrong.status, 400);
    assert.match(String(wrong.json.ERROR), /^Bad signature embed\. \/shutdown takes \{"SIGNATURE": "SAFE_KILL_SERVER_CMD"\}/);

    const expected = (await call(base(), '/embed', { sentences: SENTENCES })).json.embeddings;
    const before = await workers(base());
    assert.equal(before.length, 2);
    const oldPids = before.map((w) => w.pid).sort();
    // A worker killed under its requests would have them re-sent (and counted) or be counted as a crash.
    const counted = async () => [await total(server.corral.metrics.retries), await total(server.corral.metrics.workerRestarts)];
    const countedBefore = await counted();
    const checkEmbed = async () => {
      const res = await call(base(), '/run', { SIGNATURE: 'embed', sentences: SENTENCES });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(res.json.embeddings, expected);
    };
    const checkIris = async () => {
      const res = await call(base(), '/run', { SIGNATURE: 'iris.onnx', values: [SETOSA, VIRGINICA] });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(res.json.values, [0, 2]);
    };

    // worker-0 is frozen with a request on it, so that request is surely in flight when its worker is replaced.
    const worker0 = before.find((w) => w.id === 'worker-0')!;
    assert.ok(before.every((w) => w.outstanding === 0), 'the pool is idle: the next request goes to worker-0');
    process.kill(worker0.pid, 'SIGSTOP');
    let frozenSettled = false;
    try {
      const frozen = checkIris().finally(() => { frozenSettled = true; });
      await waitFor('the request in flight on the frozen worker-0', async () => (await workers(base())).find((w) => w.id === 'worker-0')?.outstanding === 1);
      // Requests already queued when the restart begins (some of them wait behind the frozen worker).
      const pending = Array.from({ length: 8 }, (_, i) => (i % 2 ? checkEmbed() : checkIris()));
      let done = false;
      const shutdown = Promise.all([call(base(), '/shutdown', { SIGNATURE: 'SAFE_KILL_SERVER_CMD' }), call(server.neUrl!, '/shutdown', { SIGNATURE: 'SAFE_KILL_SERVER_CMD' })])
        .finally(() => { done = true; });
      // worker-0's replacement takes its slot while the old one still holds the request.
      await waitFor('worker-0 replaced', async () => {
        // Sent during the restart; not awaited here, since some go to the frozen worker.
        pending.push(checkEmbed(), checkIris());
        const now = (await workers(base())).find((w) => w.id === 'worker-0');
        return now !== undefined && now.pid !== worker0.pid && now.state === 'ready';
      });
      assert.equal(frozenSettled, false, 'the old worker still holds its request');
      assert.equal(done, false, 'the restart waits for the old worker to finish');
      process.kill(worker0.pid, 'SIGCONT');
      await frozen;
      // And more, round after round, for as long as the restart lasts.
      let during = 0;
      do {
        await Promise.all([checkEmbed(), checkIris(), checkEmbed()]);
        during += 3;
      } while (!done);
      await Promise.all(pending);
      const [a, b] = await shutdown;
      assert.ok(during >= 3);
      assert.equal(a.status, 200, JSON.stringify(a.json));
      // Two calls during one restart share it.
      assert.deepEqual(b.json.workers, a.json.workers);
      const restarted = a.json.workers as Array<{ id: string; old_pid: number; pid: number }>;
      assert.deepEqual(restarted.map((w) => w.id), ['worker-0', 'worker-1']);
      assert.deepEqual(restarted.map((w) => w.old_pid).sort(), oldPids);
      const now = await workers(base());
      assert.deepEqual(now.map((w) => w.pid).sort(), restarted.map((w) => w.pid).sort());
      for (const w of now) {
        assert.ok(!oldPids.includes(w.pid), `${w.id} has a new pid`);
        assert.equal(w.state, 'ready');
      }
      assert.equal(a.json.ver, VERSION);
      assert.deepEqual(await counted(), countedBefore, 'no request was re-sent and no worker crashed');
    } finally {
      try { process.kill(worker0.pid, 'SIGCONT'); } catch { /* already gone */ }
    }
    // The new workers answer, loading the models again.
    await checkEmbed();
    await checkIris();
  });
});

describe('Neural Energy API: auth and CORRAL_NE_ERRORS_200', () => {
  let server: TestServer & { adminKey: string };
  let user: string;
  let embedOnly: string;
  let reader: string;

  before(async () => {
    server = await startAuthServer({}, { CORRAL_NE_PORT: '0', CORRAL_NE_ERRORS_200: '1' });
    user = (await createKey(server.url, server.adminKey, { name: 'ne-infer', scopes: ['infer'] })).key;
    embedOnly = (await createKey(server.url, server.adminKey, { name: 'ne-embed', scopes: ['read', 'infer'], models: ['embed'] })).key;
    reader = (await createKey(server.url, server.adminKey, { name: 'ne-reader', scopes: ['read', 'infer'] })).key;
  });
  after(async () => { await server.close(); });

  test('401 without a key on both ports, errors 200 or not', async () => {
    for (const base of [server.url, server.neUrl!]) {
      for (const [method, path] of [['POST', '/run'], ['POST', '/list_servers'], ['POST', '/shutdown'], ['GET', '/system_status']] as const) {
        const res = await fetch(`${base}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"SIGNATURE": "embed"}' } : {}) });
        assert.equal(res.status, 401, `${method} ${path} on ${base}`);
        assert.equal(((await res.json()) as Json).code, 'UNAUTHENTICATED');
      }
    }
  });

  test('scopes: /run needs infer, listings and status read, /shutdown admin', async () => {
    const run = await call(server.neUrl!, '/run', { SIGNATURE: 'embed', sentences: SENTENCES }, user);
    assert.equal(run.status, 200);
    assert.equal(run.json.call_id, 1);
    const list = await call(server.url, '/list_servers', {}, user);
    assert.equal(list.status, 403);
    assert.match(String(list.json.ERROR), /lacks the 'read' scope/);
    const status = await call(server.url, '/run', { SIGNATURE: 'SYSTEM_STATUS' }, user);
    assert.equal(status.status, 403);
    assert.match(String(status.json.ERROR), /SYSTEM_STATUS needs the 'read' scope/);
    const shutdown = await call(server.neUrl!, '/shutdown', { SIGNATURE: 'SAFE_KILL_SERVER_CMD' }, reader);
    assert.equal(shutdown.status, 403);
    assert.match(String(shutdown.json.ERROR), /lacks the 'admin' scope/);
    const pids = (await (await fetch(`${server.url}/api/workers`, { headers: bearer(reader) })).json()) as WorkerView[];
    const admin = await call(server.neUrl!, '/shutdown', { SIGNATURE: 'SAFE_KILL_SERVER_CMD' }, server.adminKey);
    assert.equal(admin.status, 200, JSON.stringify(admin.json));
    assert.deepEqual((admin.json.workers as Array<{ old_pid: number }>).map((w) => w.old_pid), pids.map((w) => w.pid));
  });

  test('a key limited to some models: only those listed, status and signatures; others 403', async () => {
    assert.deepEqual((await call(server.url, '/list_servers', {}, embedOnly)).json, { AVAIL_SERVERS: ['embed'] });
    const other = await call(server.url, '/run', { SIGNATURE: 'keyterms', sentences: SENTENCES }, embedOnly);
    assert.equal(other.status, 403);
    assert.equal(other.json.code, 'MODEL_NOT_ALLOWED');
    const status = (await call(server.url, '/run', { SIGNATURE: 'SYSTEM_STATUS' }, embedOnly)).json as unknown as Status;
    assert.ok(Object.keys(status.SYSTEM_STATUS.mem_servers).every((name) => name === 'embed'));
  });

  test('CORRAL_NE_ERRORS_200: a bad signature answers 200 with its ERROR, as the original did', async () => {
    const bad = await call(server.neUrl!, '/run', { SIGNATURE: 'dummy_model_a' }, embedOnly);
    assert.equal(bad.status, 200);
    assert.deepEqual(bad.json, { ERROR: "Bad signature dummy_model_a. Available signatures/servers: ['embed']", code: 'SERVICE_NOT_FOUND' });
    const missing = await call(server.url, '/run', {}, reader);
    assert.equal(missing.status, 200);
    assert.equal(missing.json.ERROR, "Bad signature None. Available signatures/servers: ['embed', 'keyterms', 'ocr']");
  });

  test('configuration: CORRAL_NE_PORT and CORRAL_NE_ERRORS_200', () => {
    assert.equal(loadConfig({}).nePort, undefined);
    assert.equal(loadConfig({ CORRAL_NE_PORT: '5002' }).nePort, 5002);
    assert.equal(loadConfig({}).neErrors200, false);
    assert.equal(loadConfig({ CORRAL_NE_ERRORS_200: '1' }).neErrors200, true);
    assert.throws(() => loadConfig({ CORRAL_NE_PORT: 'x' }), /CORRAL_NE_PORT must be a non-negative number/);
  });
});
