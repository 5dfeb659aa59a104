/**
 * Request time limits with real worker processes and a model onnxruntime really
 * hangs on (test/fixtures/hang-model.ts: a Loop of 2^62 iterations, which blocks
 * its worker). Past the limit the request gets 504 TIMEOUT, the hung worker is
 * killed and replaced, nothing is retried onto the healthy worker, and other
 * models keep being answered. Only events and states are checked, never durations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerInfo } from '../../src/dispatch/index.js';
import { buildHangModel } from '../fixtures/hang-model.js';
import { writeFixtureModels } from '../fixtures/index.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface Envelope {
  http_status: { code: number; description: string; name: string };
  error?: string;
  values?: unknown;
  timeout_ms?: number;
}

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

async function predict(server: TestServer, model: string, values: number[]): Promise<{ status: number; body: Envelope }> {
  const res = await postJson(`${server.url}/api/v1/models/${model}/prediction`, { values });
  return { status: res.status, body: (await res.json()) as Envelope };
}

async function workers(server: TestServer): Promise<WorkerInfo[]> {
  const res = await fetch(`${server.url}/api/workers`);
  assert.equal(res.status, 200);
  return (await res.json()) as WorkerInfo[];
}

/** The value of one sample of a Prometheus metric (0 when absent). */
async function metric(server: TestServer, sample: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Polls GET /api/workers until `check` holds; bounded so a broken pool fails instead of hanging. */
async function waitForWorkers(server: TestServer, what: string, check: (ws: WorkerInfo[]) => boolean): Promise<WorkerInfo[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ws = await workers(server);
    if (check(ws)) return ws;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(ws)}`);
    await sleep(25);
  }
}

const allReady = (size: number) => (ws: WorkerInfo[]) => ws.length === size && ws.every((w) => w.state === 'ready' && w.pid !== undefined);

async function setUp(server: TestServer): Promise<void> {
  await waitForWorkers(server, 'workers never all became ready', allReady(2));
  const hangPath = join(server.home, 'hang.onnx');
  writeFileSync(hangPath, buildHangModel());
  for (const [name, path] of [['iris', server.models.iris!], ['hang', hangPath]] as const) {
    const up = await uploadModel(server.url, name, path);
    assert.equal(up.status, 201, await up.text());
  }
  // The reference answers, before anything hangs.
  assert.deepEqual((await predict(server, 'iris', SETOSA)).body.values, [0]);
  assert.deepEqual((await predict(server, 'iris', VIRGINICA)).body.values, [2]);
}

/** The hung worker is replaced by a new process in the same slot; the other slot is untouched. */
async function checkReplaced(server: TestServer, hung: WorkerInfo, healthy: WorkerInfo): Promise<void> {
  const ws = await waitForWorkers(server, 'the hung worker was not replaced',
    (ws) => allReady(2)(ws) && ws.find((w) => w.id === hung.id)!.pid !== hung.pid);
  const slot = ws.find((w) => w.id === hung.id)!;
  assert.equal(slot.restarts, hung.restarts + 1, 'the hung slot restarted once');
  const other = ws.find((w) => w.id === healthy.id)!;
  assert.equal(other.pid, healthy.pid, 'the healthy worker was not killed');
  assert.equal(other.restarts, healthy.restarts, 'the healthy worker did not restart');
}

function checkTimeout(r: { status: number; body: Envelope }, limitMs: number): void {
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error, 'TIMEOUT');
  assert.equal(r.body.http_status.code, 504);
  assert.equal(r.body.http_status.name, 'Gateway Timeout');
  const message = r.body.http_status.description;
  assert.match(message, /Model 'hang'/);
  assert.match(message, new RegExp(`${limitMs} ms`));
  assert.match(message, /timeout_ms/);
  assert.match(message, /CORRAL_REQUEST_TIMEOUT_MS/);
}

describe('a model that hangs, limit set with PATCH /config timeout_ms', () => {
  const LIMIT = 4000;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ workers: 2 });
    await setUp(server);
  });
  after(async () => { await server?.close(); });

  test('the limit is stored and shown', async () => {
    // Two rows per batch and a long queue delay: the two hang requests below travel
    // together, as one batch on one worker.
    const res = await postJson(`${server.url}/api/v1/models/hang/config`,
      { timeout_ms: LIMIT, max_batch_size: 2, max_queue_delay_microseconds: 10_000_000 }, 'PATCH');
    const body = (await res.json()) as Envelope;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.timeout_ms, LIMIT);
    const shown = (await (await fetch(`${server.url}/api/v1/models/hang/config`)).json()) as Envelope;
    assert.equal(shown.timeout_ms, LIMIT);
    const view = (await (await fetch(`${server.url}/api/v1/models/hang`)).json()) as Envelope;
    assert.equal(view.timeout_ms, LIMIT);
    // Other models keep the server default.
    const iris = (await (await fetch(`${server.url}/api/v1/models/iris/config`)).json()) as Envelope;
    assert.equal(iris.timeout_ms, 60_000);
    const bad = await postJson(`${server.url}/api/v1/models/hang/config`, { timeout_ms: 0 }, 'PATCH');
    assert.equal(bad.status, 400);
  });

  test('both requests on the hung worker get 504 TIMEOUT, other models are answered, the worker is replaced', async () => {
    const before = await workers(server);
    const timeoutsBefore = await metric(server, 'corral_inference_timeouts_total{model="hang"}');
    const retriesBefore = await metric(server, 'corral_inference_retries_total{model="hang@1"}');
    const restartsBefore = await metric(server, 'corral_worker_restarts_total');

    let settled = 0;
    const hanging = [SETOSA, VIRGINICA].map((v) => predict(server, 'hang', v).finally(() => void settled++));
    // The batch is on one worker, which is now stuck in onnxruntime.
    const during = await waitForWorkers(server, 'no worker took the hang batch', (ws) => ws.some((w) => w.outstanding > 0));
    const hung = during.find((w) => w.outstanding > 0)!;
    const healthy = during.find((w) => w.id !== hung.id)!;
    assert.equal(healthy.outstanding, 0, 'both hang requests went to the same worker');
    assert.equal(hung.outstanding, 1, 'as one batch');

    // Other models are answered while the hang lasts, by the healthy worker (one at a
    // time, so the least busy worker is always the healthy one).
    const answers = [];
    for (const v of [SETOSA, VIRGINICA, SETOSA]) answers.push(await predict(server, 'iris', v));
    assert.equal(settled, 0, 'the iris answers came while the hang requests were still open');
    assert.deepEqual(answers.map((a) => a.body.values), [[0], [2], [0]]);

    const results = await Promise.all(hanging);
    results.forEach((r) => checkTimeout(r, LIMIT));
    assert.equal(await metric(server, 'corral_inference_timeouts_total{model="hang"}'), timeoutsBefore + 2);

    // A normal model answers right after the timeout.
    assert.deepEqual((await predict(server, 'iris', VIRGINICA)).body.values, [2]);

    await checkReplaced(server, hung, healthy);
    assert.equal(hung.pid, before.find((w) => w.id === hung.id)!.pid, 'the hung worker was the one there before');
    // Nothing of the hung model was re-sent to another worker.
    assert.equal(await metric(server, 'corral_inference_retries_total{model="hang@1"}'), retriesBefore);
    assert.equal(await metric(server, 'corral_worker_restarts_total'), restartsBefore + 1, 'the one restart is counted');

    // The healed pool serves as before.
    const again = await Promise.all([SETOSA, VIRGINICA].map((v) => predict(server, 'iris', v)));
    assert.deepEqual(again.map((a) => a.body.values), [[0], [2]]);
  });
});

describe('a model that hangs, limit from CORRAL_REQUEST_TIMEOUT_MS', () => {
  const LIMIT = 3000;
  let server: TestServer;
  before(async () => {
    // corral.json's entry for iris (as createCorral reads it) must not touch the hang model.
    server = await startTestServer({ workers: 2, modelOverrides: { iris: { timeoutMs: 7000 } } }, { CORRAL_REQUEST_TIMEOUT_MS: String(LIMIT) });
    await setUp(server);
  });
  after(async () => { await server?.close(); });

  test('precedence: the API setting, then corral.json, then CORRAL_REQUEST_TIMEOUT_MS', async () => {
    const limitOf = async (name: string) => ((await (await fetch(`${server.url}/api/v1/models/${name}/config`)).json()) as Envelope).timeout_ms;
    assert.equal(await limitOf('hang'), LIMIT);
    assert.equal(await limitOf('iris'), 7000);
    const res = await postJson(`${server.url}/api/v1/models/iris/config`, { timeout_ms: 8000 }, 'PATCH');
    assert.equal(res.status, 200, await res.text());
    assert.equal(await limitOf('iris'), 8000);
    assert.equal(server.corral.repository.get('iris').timeoutMs, 8000, 'stored with the model');
  });

  test('the request gets 504 TIMEOUT naming the default limit; the worker is replaced', async () => {
    const shown = (await (await fetch(`${server.url}/api/v1/models/hang/config`)).json()) as Envelope;
    assert.equal(shown.timeout_ms, LIMIT);
    const timeoutsBefore = await metric(server, 'corral_inference_timeouts_total{model="hang"}');

    const hanging = predict(server, 'hang', SETOSA);
    const during = await waitForWorkers(server, 'no worker took the hang request', (ws) => ws.some((w) => w.outstanding > 0));
    const hung = during.find((w) => w.outstanding > 0)!;
    const healthy = during.find((w) => w.id !== hung.id)!;
    assert.deepEqual((await predict(server, 'iris', SETOSA)).body.values, [0], 'iris is answered during the hang');

    checkTimeout(await hanging, LIMIT);
    assert.equal(await metric(server, 'corral_inference_timeouts_total{model="hang"}'), timeoutsBefore + 1);
    assert.deepEqual((await predict(server, 'iris', VIRGINICA)).body.values, [2]);
    await checkReplaced(server, hung, healthy);
    assert.deepEqual((await predict(server, 'iris', SETOSA)).body.values, [0]);
  });
});

describe('a request whose time runs out while it waits in the queue', () => {
  // The first request may run longer than the second may wait, so the second is still
  // queued behind it (one worker, one batch in flight) when its own time is up.
  const LONG = 7000;
  const SHORT = 3000;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ workers: 1 });
    await waitForWorkers(server, 'the worker never became ready', allReady(1));
    const hangPath = join(server.home, 'hang.onnx');
    writeFileSync(hangPath, buildHangModel());
    const up = await uploadModel(server.url, 'hang', hangPath);
    assert.equal(up.status, 201, await up.text());
  });
  after(async () => { await server?.close(); });

  test('is answered 504 TIMEOUT and never sent to a worker', async () => {
    const limit = async (ms: number) => {
      const res = await postJson(`${server.url}/api/v1/models/hang/config`, { timeout_ms: ms, max_batch_size: 1 }, 'PATCH');
      assert.equal(res.status, 200, await res.text());
    };
    const runsBefore = await metric(server, 'corral_inference_duration_seconds_count{model="hang"}');
    const timeoutsBefore = await metric(server, 'corral_inference_timeouts_total{model="hang"}');
    await limit(LONG);
    const first = predict(server, 'hang', SETOSA);
    const [hung] = await waitForWorkers(server, 'the worker never took the first request', (ws) => ws[0]!.outstanding === 1);
    await limit(SHORT);
    let firstDone = false;
    void first.finally(() => { firstDone = true; });
    const second = predict(server, 'hang', VIRGINICA);
    // The second request waits in the batcher: the one batch slot is the first's.
    const deadline = Date.now() + 30_000;
    while (server.corral.inference.queueDepth('hang@1') !== 1 && Date.now() < deadline) await sleep(10);
    assert.equal(server.corral.inference.queueDepth('hang@1'), 1, 'the second request is queued');

    checkTimeout(await second, SHORT);
    assert.equal(firstDone, false, 'the second request was answered while the first still held the worker');
    checkTimeout(await first, LONG);
    assert.equal(server.corral.inference.queueDepth('hang@1'), 0, 'nothing is left queued');

    // The hung worker is replaced, and the expired request is not sent to the replacement:
    // it stays idle, and no second run of the model is recorded.
    const [replaced] = await waitForWorkers(server, 'the replacement is busy or was replaced again (the expired request ran)',
      (ws) => ws[0]!.pid !== hung!.pid && ws[0]!.state === 'ready' && ws[0]!.restarts === hung!.restarts + 1 && ws[0]!.outstanding === 0);
    assert.equal(replaced!.restarts, hung!.restarts + 1);
    assert.equal(await metric(server, 'corral_inference_duration_seconds_count{model="hang"}'), runsBefore + 1, 'only the first request ran');
    assert.equal(await metric(server, 'corral_inference_timeouts_total{model="hang"}'), timeoutsBefore + 2);
    assert.equal(await metric(server, 'corral_worker_restarts_total'), 1, 'one worker was killed: the first request\'s');
  });
});

/** CPU time (user + system) a process has used, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

describe('WorkerPool: separate runs on one hung worker', () => {
  test('runs of the hung model fail with TIMEOUT, a run of another model is re-sent and answered', async () => {
    const { default: pino } = await import('pino');
    const { createMetrics } = await import('../../src/metrics/index.js');
    const { WorkerPool } = await import('../../src/workers/index.js');
    const { CorralError } = await import('../../src/errors/index.js');
    const home = mkdtempSync(join(tmpdir(), 'corral-test-'));
    const models = writeFixtureModels(join(home, 'fixtures'));
    const metrics = createMetrics();
    const pool = new WorkerPool({
      size: 1, home, allowRemoteModels: false, threadsPerWorker: 1, memoryBudgetBytes: 1024 ** 3,
      readyTimeoutMs: 60_000, metrics, logger: pino({ level: 'silent' }),
    });
    try {
      await pool.started();
      const hangPath = join(home, 'hang.onnx');
      writeFileSync(hangPath, buildHangModel());
      const hang = { key: 'hang@1', name: 'hang', runtime: 'onnx', path: hangPath };
      const iris = { key: 'iris@1', name: 'iris', runtime: 'onnx', path: models.iris! };
      const input = (name: string, row: number[]) => ({ inputs: { [name]: { datatype: 'FP32', shape: [1, 4], data: Float32Array.from(row) } } });
      // onnxruntime is imported before the runs, so the CPU the worker spends after them is the hang's.
      await pool.inspect('onnx', hangPath);
      const [before] = pool.workers();
      const cpuBefore = cpuMs(before!.pid!);
      // Two separate runs of the hung model and one of iris, all held by the one worker.
      const first = pool.run(hang, input('x', SETOSA), undefined, { timeoutMs: 10_000 }).then(() => 'answered', (e: unknown) => e);
      const second = pool.run(hang, input('x', VIRGINICA), undefined, { timeoutMs: 60_000 }).then(() => 'answered', (e: unknown) => e);
      // iris is sent only once the worker spins in the hang's Loop (onnxruntime runs on the
      // worker's main thread): sent earlier, it could load and be answered before the hang starts.
      const spinDeadline = Date.now() + 8000;
      while (cpuMs(before!.pid!) - cpuBefore < 500) {
        assert.ok(Date.now() < spinDeadline, 'the worker never started spinning in the hang model');
        await sleep(20);
      }
      const other = pool.run(iris, { ...input('float_input', VIRGINICA), outputs: ['label'] }, undefined, { timeoutMs: 60_000 })
        .then((v) => v, (e: unknown) => e);
      while (pool.workers()[0]!.outstanding < 3 && pool.workers()[0]!.pid === before!.pid) await sleep(5);
      assert.equal(pool.workers()[0]!.outstanding, 3, 'the worker holds all three runs');
      for (const result of [await first, await second]) {
        assert.ok(result instanceof CorralError, String(result));
        assert.equal(result.code, 'TIMEOUT');
      }
      const answered = await other;
      assert.ok(!(answered instanceof Error), String(answered));
      const label = answered as { label: { data: BigInt64Array } };
      assert.deepEqual(Array.from(label.label.data, Number), [2], 'iris was re-run on the replacement');
      // The replacement process may still be starting when the answers arrive: wait for it (bounded).
      const deadline = Date.now() + 30_000;
      while (pool.workers()[0]!.pid === before!.pid && Date.now() < deadline) await sleep(20);
      const [after] = pool.workers();
      assert.notEqual(after!.pid, before!.pid, 'the hung worker was replaced');
      assert.equal(after!.restarts, 1);
      const sample = async (name: string, labels: Record<string, string>) =>
        (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
      assert.equal(await sample('corral_inference_retries_total', { model: 'hang@1' }), 0, 'the hung model was not re-sent');
      assert.equal(await sample('corral_inference_retries_total', { model: 'iris@1' }), 1, 'the other model was');
    } finally {
      await pool.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('corral.json timeout_ms', () => {
  test('is read per model, and a bad value is refused with the file and model named', async () => {
    const { readModelOverrides } = await import('../../src/config/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'corral-test-'));
    try {
      const path = join(dir, 'corral.json');
      writeFileSync(path, JSON.stringify({ models: { 'iris.onnx': { max_batch_size: 8, timeout_ms: 120000 }, other: { max_batch_size: 2 } } }));
      assert.deepEqual(await readModelOverrides(path), { 'iris.onnx': { maxBatchSize: 8, timeoutMs: 120000 }, other: { maxBatchSize: 2 } });
      writeFileSync(path, JSON.stringify({ models: { slow: { timeout_ms: '5s' } } }));
      await assert.rejects(readModelOverrides(path), (err: Error) => err.message.includes(path) && err.message.includes('"slow"') && err.message.includes('timeout_ms'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
