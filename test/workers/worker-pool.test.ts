/**
 * WorkerPool and WorkerHandle driven directly (no HTTP server), with real forked
 * worker processes and real onnxruntime: picking, retries, error translation,
 * time limits, restarts, restartAll, unload, close, events, metrics and output.
 * Written for mutation testing of src/workers/: assertions are exact, and the file
 * is fast (three independent pools run side by side, each shared by its tests).
 * Faults are injected by test/fixtures/worker-faults.mjs (NODE_OPTIONS).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { CorralError } from '../../src/errors/index.js';
import { EventHub, type HubEvent } from '../../src/events/index.js';
import { createMetrics, type CorralMetrics } from '../../src/metrics/index.js';
import type { RunLimits, WorkerInfo } from '../../src/dispatch/inference-dispatcher.js';
import type { ModelRef } from '../../src/runtimes/runtime.js';
import { WorkerPool, type WorkerPoolOptions } from '../../src/workers/index.js';
import { WorkerCrashedError, WorkerHandle, WorkerTimeoutError } from '../../src/workers/worker-handle.js';
import { buildHangModel } from '../fixtures/hang-model.js';
import { writeFixtureModels } from '../fixtures/index.js';
import { TINY_BERT_HIDDEN, writeHfCacheSnapshot, writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';

const FAULTS = fileURLToPath(new URL('../fixtures/worker-faults.mjs', import.meta.url));
/** Preloaded by a worker, makes it exit before it is ready. */
const DIE_AT_START = '--import data:text/javascript,process.exit(3)';
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const IRIS_SIGNATURE = {
  inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
  dimNames: { float_input: ['batch', ''], label: ['batch'], probabilities: ['batch', ''] },
};
const timeoutMessage = (name: string, ms: number) =>
  `Model '${name}' did not answer within its time limit of ${ms} ms; the worker running it was restarted. ` +
  'Raise the limit with CORRAL_REQUEST_TIMEOUT_MS or the model\'s timeout_ms.';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

/** Polls `check` (every `everyMs`, 0: every event-loop turn) until truthy; fails with what `seen` last returned. */
async function until<T>(what: string, check: () => T | undefined | false, seen: () => unknown, timeoutMs = 8000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(seen())}`);
    await (everyMs === 0 ? tick() : sleep(everyMs));
  }
}

/** The error `promise` rejects with; fails if it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then((value) => assert.fail(`expected a rejection, got ${String(value)}`), (err: Error) => err);
}

function assertCorral(err: unknown, code: string, message: string | RegExp): void {
  assert.ok(err instanceof CorralError, `expected a CorralError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
}

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Live worker processes forked by this process (Linux /proc); empty elsewhere. */
function childPids(): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      // Worker processes only (tsx's esbuild service is a child too).
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').some((v) => v.startsWith('CORRAL_WORKER_ID='))) pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

type Metric = { get(): Promise<{ values: Array<{ value: number; labels: object }> }> };
async function sample(metric: Metric, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))?.value ?? 0;
}

/** A pino logger (warn and up) whose lines are kept, parsed. */
function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { logger, lines };
}

const irisInput = (row: number[]) => ({ inputs: { float_input: { datatype: 'FP32', shape: [1, 4], data: Float32Array.from(row) } }, outputs: ['label'] });
const hangInput = (shape = [1, 4]) => ({ inputs: { x: { datatype: 'FP32', shape, data: Float32Array.from(SETOSA.slice(0, shape[1])) } } });
const labelOf = (out: unknown) => Array.from((out as { label: { data: BigInt64Array } }).label.data, Number);

let home: string;
let models: Record<string, string>;
let hangPath: string;
let garbagePath: string;
let faultsLog: string;
let iris: ModelRef;
let hang: ModelRef;
let killer: ModelRef;
const savedNodeOptions = process.env.NODE_OPTIONS;
const savedFaultsLog = process.env.CORRAL_TEST_FAULTS_LOG;
const faultRuns = () => (existsSync(faultsLog) ? readFileSync(faultsLog, 'utf8').split('\n').filter(Boolean) : []);

interface PoolKit {
  pool: WorkerPool;
  metrics: CorralMetrics;
  warns: Array<Record<string, unknown>>;
  events: HubEvent[];
  output: Array<{ stream: string; line: string; models: string[] }>;
  gaugeMatches: () => Promise<void>;
}

function makePool(options: Partial<WorkerPoolOptions> & { size: number; readyTimeoutMs: number }, withOutput = false): PoolKit {
  const metrics = createMetrics();
  const { logger, lines: warns } = recordingLogger();
  const hub = new EventHub();
  const events: HubEvent[] = [];
  hub.subscribe((e) => events.push(e));
  const output: PoolKit['output'] = [];
  const pool = new WorkerPool({
    home, allowRemoteModels: false, threadsPerWorker: 1, memoryBudgetBytes: 1024 ** 3, metrics, logger, events: hub,
    ...(withOutput ? { onOutput: (stream, line, running) => { output.push({ stream, line, models: running }); } } : {}),
    ...options,
  });
  const gaugeMatches = async () => {
    const ready = pool.workers().filter((w) => w.state === 'ready').length;
    assert.equal(await sample(metrics.workersReady), ready, `corral_workers_ready vs ${JSON.stringify(pool.workers())}`);
  };
  return { pool, metrics, warns, events, output, gaugeMatches };
}

const workerEvents = (kit: PoolKit, id: string, from = 0): WorkerInfo[] =>
  kit.events.slice(from).flatMap((e) => (e.type === 'worker' && e.worker.id === id ? [e.worker] : []));
/** [state, pid, restarts] of each event that changed one of them (stats events repeat them). */
const transitions = (infos: WorkerInfo[]) => infos.map((e) => [e.state, e.pid, e.restarts])
  .filter((t, i, all) => i === 0 || JSON.stringify(t) !== JSON.stringify(all[i - 1]));
/** The fault injector's lines of runs on this pool's workers (pools run side by side and share the log). */
const poolFaultRuns = (kit: PoolKit, from: string[]) => {
  const pids = new Set(kit.events.flatMap((e) => (e.type === 'worker' ? [`run ${e.worker.pid}`] : [])));
  return faultRuns().slice(from.length).filter((l) => pids.has(l));
};
const exitWarns = (kit: PoolKit) => kit.warns.filter((l) => l.msg === 'worker exited; restarting it');
const hangWarns = (kit: PoolKit) => kit.warns.filter((l) => l.msg === 'a model hung past its time limit; killing its worker');

describe('WorkerPool and WorkerHandle with real worker processes', { concurrency: true }, () => {
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'corral-pool-'));
    models = writeFixtureModels(join(home, 'fixtures'));
    hangPath = join(home, 'fixtures', 'hang.onnx');
    writeFileSync(hangPath, buildHangModel());
    garbagePath = join(home, 'fixtures', 'garbage.onnx');
    writeFileSync(garbagePath, 'this is not an onnx model\n'.repeat(20));
    faultsLog = join(home, 'faults.log');
    iris = { key: 'iris@1', name: 'iris', runtime: 'onnx', path: models.iris! };
    hang = { key: 'hang@1', name: 'hang', runtime: 'onnx', path: hangPath };
    killer = { key: 'kills-worker@1', name: 'kills-worker', runtime: 'onnx', path: models.iris! };
    // Worker processes inherit the environment: they preload the fault injector.
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --import ${FAULTS}`.trim();
    process.env.CORRAL_TEST_FAULTS_LOG = faultsLog;
  });

  after(async () => {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    if (savedFaultsLog === undefined) delete process.env.CORRAL_TEST_FAULTS_LOG;
    else process.env.CORRAL_TEST_FAULTS_LOG = savedFaultsLog;
    try {
      await until('every worker process to be gone', () => childPids().length === 0, childPids, 5000);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  describe('a pool of two workers', { concurrency: false }, () => {
    let kit: PoolKit;
    let pool: WorkerPool;
    let atConstruction: { ready: boolean; workers: WorkerInfo[] };
    let afterStarted: WorkerInfo[];

    before(async () => {
      kit = makePool({ size: 2, readyTimeoutMs: 10_000, requestTimeoutMs: 800, logLevel: 'debug' }, true);
      pool = kit.pool;
      atConstruction = { ready: pool.isReady(), workers: pool.workers() };
      await pool.started();
      afterStarted = pool.workers();
    });
    after(() => pool?.close());

    const allReady = (what: string) => until(what, () => pool.workers().every((w) => w.state === 'ready' && w.outstanding === 0), () => pool.workers());

    test('starts `size` workers; started() waits for all of them; info, events and gauge', async () => {
      assert.equal(atConstruction.ready, false, 'not ready before any worker is');
      assert.deepEqual(atConstruction.workers.map(({ pid: _pid, ...rest }) => rest), [0, 1].map((i) => ({
        id: `worker-${i}`, state: 'starting', outstanding: 0, rssBytes: 0, loadedModels: [], restarts: 0,
      })));
      for (const w of atConstruction.workers) assert.equal(typeof w.pid, 'number');
      assert.deepEqual(afterStarted.map((w) => [w.id, w.state, w.pid]), atConstruction.workers.map((w) => [w.id, 'ready', w.pid]));
      for (const w of afterStarted) assert.ok(alive(w.pid), `worker ${w.id} (pid ${w.pid}) runs`);
      assert.notEqual(afterStarted[0]!.pid, afterStarted[1]!.pid);
      assert.equal(pool.isReady(), true);
      assert.equal(pool.capacity(), 2);
      assert.equal(await sample(kit.metrics.workersReady), 2);
      for (const w of afterStarted) {
        assert.deepEqual(workerEvents(kit, w.id).map((e) => [e.state, e.pid, e.restarts]), [['starting', w.pid, 0], ['ready', w.pid, 0]]);
      }
      assert.equal(kit.events.length, 4, 'only worker events so far');
    });

    test('run answers with the model output, fills limits.timing, and credits the worker\'s lines to the model', async () => {
      const limits: RunLimits = { timeoutMs: 5000, requestIds: ['req-iris-1'], timing: {} };
      // Two at once: the least busy picking puts one on each worker.
      const sent = performance.now();
      const [a, b] = await Promise.all([
        pool.run(iris, irisInput(SETOSA), undefined, limits).then((out) => ({ out, roundTripMs: performance.now() - sent })),
        pool.run(iris, irisInput(VIRGINICA), undefined, { timeoutMs: 0 }),
      ]);
      assert.deepEqual(labelOf(a.out), [0]);
      assert.deepEqual(labelOf(b), [2]);
      assert.equal(typeof limits.timing!.computeMs, 'number', JSON.stringify(limits));
      // The worker's compute time is part of the run as the pool saw it (not a speed check: a consistency one).
      assert.ok(limits.timing!.computeMs! >= 0 && limits.timing!.computeMs! <= a.roundTripMs, `${limits.timing!.computeMs} ms of ${a.roundTripMs}`);
      const ranLine = (reqId: string) => until(`the worker's "ran batch" line of ${reqId}`,
        () => kit.output.find((o) => o.line.includes(`"${reqId}"`)), () => kit.output.slice(-5));
      const first = await ranLine('req-iris-1');
      const parsed = JSON.parse(first.line) as Record<string, unknown>;
      assert.equal(parsed.msg, 'ran batch');
      assert.equal(parsed.level, 20, 'debug');
      assert.equal(parsed.name, 'corral-worker');
      // The line names the worker process that wrote it.
      assert.deepEqual(pool.workers().filter((w) => w.id === parsed.worker).map((w) => w.pid), [parsed.pid]);
      assert.equal(parsed.model, 'iris');
      assert.deepEqual(parsed.reqIds, ['req-iris-1']);
      assert.equal(first.stream, 'stdout');
      assert.deepEqual(first.models, ['iris']);
      // A ref without a name is named by its key.
      const noName: ModelRef = { key: iris.key, runtime: 'onnx', path: iris.path };
      assert.deepEqual(labelOf(await pool.run(noName, irisInput(VIRGINICA), undefined, { requestIds: ['req-noname'], timeoutMs: 10_000 })), [2]);
      // A run sent without request ids is logged with none.
      const parsedLines = () => kit.output.flatMap((o) => { try { return [JSON.parse(o.line) as { msg?: string; reqIds?: unknown }]; } catch { return []; } });
      await until('a "ran batch" line with no request ids', () => parsedLines().some((l) => l.msg === 'ran batch' && Array.isArray(l.reqIds) && l.reqIds.length === 0), () => kit.output.slice(-5));
      const second = await ranLine('req-noname');
      assert.equal((JSON.parse(second.line) as { model: string }).model, 'iris@1');
      assert.deepEqual(second.models, ['iris@1']);
      assert.deepEqual(pool.workers().map((w) => [w.outstanding, w.restarts]), [[0, 0], [0, 0]]);
    });

    test('worker errors become INFERENCE_REJECTED / INFERENCE_FAILED naming the model (or its key)', async () => {
      const pids = pool.workers().map((w) => w.pid);
      const internal = await failure(pool.run(iris, irisInput([777, 3.5, 1.4, 0.2]), undefined, { requestIds: ['req-777'], timeoutMs: 10_000 }));
      assertCorral(internal, 'INFERENCE_FAILED', "Model 'iris' failed: Cannot read properties of undefined (reading 'type')");
      // The worker's own line about the failure is credited to the model.
      const line = await until('the "batch failed" line of req-777', () => kit.output.find((o) => o.line.includes('"req-777"')), () => kit.output.slice(-5));
      assert.deepEqual([JSON.parse(line.line).msg, JSON.parse(line.line).kind, JSON.parse(line.line).level], ['batch failed', 'internal', 40], 'an internal failure is a warning');
      assert.deepEqual(line.models, ['iris']);
      const rejected = await failure(pool.run(iris, irisInput([779, 3.5, 1.4, 0.2]), undefined, { requestIds: ['req-779'], timeoutMs: 10_000 }));
      assertCorral(rejected, 'INFERENCE_REJECTED', /^Model 'iris' rejected the input: Got invalid dimensions for input: float_input/);
      const rejectedLine = await until('the "batch failed" line of req-779', () => kit.output.find((o) => o.line.includes('"req-779"')), () => kit.output.slice(-5));
      assert.deepEqual([JSON.parse(rejectedLine.line).kind, JSON.parse(rejectedLine.line).level], ['input', 20], 'a client\'s bad input is only debug');
      const internalNoName = await failure(pool.run({ key: 'iris@1', runtime: 'onnx', path: iris.path }, irisInput([778, 3.5, 1.4, 0.2]), undefined, { timeoutMs: 10_000 }));
      assertCorral(internalNoName, 'INFERENCE_FAILED', /^Model 'iris@1' failed: internal buffer index 3 is invalid/);
      const missing = join(home, 'no-such-model.onnx');
      const unloadable = await failure(pool.run({ key: 'ghost@3', runtime: 'onnx', path: missing }, irisInput(SETOSA), undefined, { timeoutMs: 10_000 }));
      assertCorral(unloadable, 'INFERENCE_FAILED', /^Model 'ghost@3' could not be loaded: \S/);
      const named = await failure(pool.run({ key: 'ghost@3', name: 'ghost', runtime: 'onnx', path: missing }, irisInput(SETOSA), undefined, { timeoutMs: 10_000 }));
      assertCorral(named, 'INFERENCE_FAILED', /^Model 'ghost' could not be loaded: \S/);
      // None of these is a crash: nothing was retried or restarted.
      assert.equal(await sample(kit.metrics.retries, { model: 'iris@1' }), 0);
      assert.equal(await sample(kit.metrics.retries, { model: 'ghost@3' }), 0);
      assert.deepEqual(pool.workers().map((w) => [w.pid, w.restarts, w.state]), pids.map((pid) => [pid, 0, 'ready']));
    });

    test('inspect returns a valid file\'s signature and refuses a garbage file with INVALID_MODEL_FILE', async () => {
      assert.deepEqual(await pool.inspect('onnx', models.iris!), IRIS_SIGNATURE);
      assertCorral(await failure(pool.inspect('onnx', garbagePath)), 'INVALID_MODEL_FILE', /^The file is not a valid model: \S/);
      assertCorral(await failure(pool.inspect('onnx', join(home, 'absent.onnx'))), 'INVALID_MODEL_FILE', /^The file is not a valid model: \S/);
    });

    test('a deadline already past is TIMEOUT without running the batch', async () => {
      const runsBefore = faultRuns();
      const pids = pool.workers().map((w) => w.pid);
      const expired = await failure(pool.run(killer, irisInput(SETOSA), undefined, { deadline: Date.now() - 1, timeoutMs: 1234 }));
      assertCorral(expired, 'TIMEOUT', timeoutMessage('kills-worker', 1234));
      // Without timeoutMs the message names the pool's request limit (requestTimeoutMs, not readyTimeoutMs).
      const noLimit = await failure(pool.run(iris, irisInput(SETOSA), undefined, { deadline: Date.now() - 1 }));
      assertCorral(noLimit, 'TIMEOUT', timeoutMessage('iris', 800));
      // A deadline of now has no time left either.
      const now = await failure(pool.run(iris, irisInput(SETOSA), undefined, { deadline: Date.now(), timeoutMs: 999 }));
      assertCorral(now, 'TIMEOUT', timeoutMessage('iris', 999));
      await sleep(50);
      assert.deepEqual(poolFaultRuns(kit, runsBefore), [], 'the model was not sent to a worker');
      assert.deepEqual(pool.workers().map((w) => [w.pid, w.outstanding, w.restarts]), pids.map((pid) => [pid, 0, 0]));
    });

    test('killWorker kills the worker holding an inspect; the file is checked again elsewhere and the slot restarted', async () => {
      await allReady('both workers ready');
      const before = pool.workers();
      const eventsFrom = kit.events.length;
      // worker-0 is frozen, so the inspect (sent to it: a tie goes to the first worker) is surely in flight when it is killed.
      const k = 0;
      process.kill(before[k]!.pid!, 'SIGSTOP');
      const inspecting = pool.inspect('onnx', models.iris!);
      await until('the inspect to reach worker-0', () => pool.workers()[k]!.outstanding === 1, () => pool.workers(), 5000, 0);
      assert.equal(pool.killWorker(k), before[k]!.pid);
      assert.equal(pool.killWorker(2), undefined);
      assert.deepEqual(await inspecting, IRIS_SIGNATURE);
      const restarted = await until(`worker-${k} restarted`, () => {
        const w = pool.workers()[k]!;
        return w.state === 'ready' && w.pid !== before[k]!.pid ? w : undefined;
      }, () => pool.workers());
      assert.equal(restarted.restarts, 1);
      assert.equal(pool.workers()[1 - k]!.restarts, 0);
      assert.equal(pool.workers()[1 - k]!.pid, before[1 - k]!.pid);
      assert.equal(await sample(kit.metrics.workerRestarts), 1);
      assert.equal(await sample(kit.metrics.retries, { model: 'iris@1' }), 0, 'inspect retries are not batch retries');
      assert.deepEqual(exitWarns(kit).map(({ worker, code, signal, level }) => ({ worker, code, signal, level })),
        [{ worker: `worker-${k}`, code: null, signal: 'SIGKILL', level: 40 }]);
      assert.deepEqual(transitions(workerEvents(kit, `worker-${k}`, eventsFrom)),
        [['ready', before[k]!.pid, 0], ['exited', before[k]!.pid, 1], ['starting', restarted.pid, 1], ['ready', restarted.pid, 1]].slice(
          workerEvents(kit, `worker-${k}`, eventsFrom)[0]?.state === 'ready' ? 0 : 1));
      await kit.gaugeMatches();
    });

    test('least busy picking; a hung model is TIMEOUT and its worker replaced; another model on that worker is re-sent', async () => {
      await allReady('both workers ready');
      const before = pool.workers();
      const restartsBefore = await sample(kit.metrics.workerRestarts);
      // Load the hang model on both workers (a feed onnxruntime rejects: it does not run), so that a
      // run of it blocks its worker at once: onnxruntime-node runs a session on the worker's main thread.
      const warm = await Promise.all([0, 1].map(() => failure(pool.run(hang, hangInput([1, 3]), undefined, { timeoutMs: 10_000 }))));
      for (const err of warm) assertCorral(err, 'INFERENCE_REJECTED', /^Model 'hang' rejected the input: Got invalid dimensions/);
      const eventsFrom = kit.events.length;
      const outcome = (p: Promise<unknown>) => p.then((v) => v, (e: unknown) => e);
      // Both workers are frozen while the runs are sent: once they go on, each takes its hang run first and
      // spins in it (onnxruntime-node runs a session on the worker's main thread), so what was sent after waits.
      for (const w of before) process.kill(w.pid!, 'SIGSTOP');
      let a: Promise<unknown>, b: Promise<unknown>, other: Promise<unknown>;
      try {
        a = outcome(pool.run(hang, hangInput(), undefined, { timeoutMs: 500 }));
        await until('the first hang run on worker-0', () => pool.workers()[0]!.outstanding === 1, () => pool.workers(), 5000, 0);
        assert.deepEqual(pool.workers().map((w) => w.outstanding), [1, 0], 'a tie goes to the first worker');
        // No limits: the pool's requestTimeoutMs (800).
        b = outcome(pool.run(hang, hangInput()));
        await until('the second hang run on worker-1', () => pool.workers()[1]!.outstanding === 1, () => pool.workers(), 5000, 0);
        assert.deepEqual(pool.workers().map((w) => w.outstanding), [1, 1], 'the second run went to the idle worker');
        other = outcome(pool.run(iris, irisInput(VIRGINICA), undefined, { timeoutMs: 10_000 }));
        await until('the iris run on worker-0', () => pool.workers()[0]!.outstanding === 2, () => pool.workers(), 5000, 0);
        assert.deepEqual(pool.workers().map((w) => w.outstanding), [2, 1]);
      } finally {
        for (const w of before) process.kill(w.pid!, 'SIGCONT');
      }
      const first = await a;
      assertCorral(first, 'TIMEOUT', timeoutMessage('hang', 500));
      assert.equal(pool.workers()[0]!.state, 'exited', 'the hung worker takes no more work');
      assert.equal(pool.isReady(), true, 'one worker is still ready');
      await kit.gaugeMatches();
      assert.deepEqual(hangWarns(kit).map(({ worker, model, limitMs }) => ({ worker, model, limitMs })), [{ worker: 'worker-0', model: 'hang', limitMs: 500 }]);
      // The iris run was not failed: it was re-sent to the other (busy) worker.
      await until('the iris run re-sent to worker-1', () => pool.workers()[1]!.outstanding === 2, () => pool.workers(), 5000, 0);
      assert.equal(await sample(kit.metrics.retries, { model: 'iris@1' }), 1);

      assertCorral(await b, 'TIMEOUT', timeoutMessage('hang', 800));
      const answered = await other;
      assert.ok(!(answered instanceof Error), String(answered));
      assert.deepEqual(labelOf(answered), [2], 'iris was answered by a replacement worker');
      assert.equal(await sample(kit.metrics.retries, { model: 'iris@1' }), 2, 'iris was re-sent after each of the two kills');
      assert.equal(await sample(kit.metrics.retries, { model: 'hang@1' }), 0, 'a hung model is never re-sent');
      assert.deepEqual(hangWarns(kit).map(({ worker, model, limitMs }) => ({ worker, model, limitMs })),
        [{ worker: 'worker-0', model: 'hang', limitMs: 500 }, { worker: 'worker-1', model: 'hang', limitMs: 800 }]);

      const after = await until('both hung workers replaced', () => {
        const ws = pool.workers();
        return ws.every((w, i) => w.state === 'ready' && w.pid !== before[i]!.pid) ? ws : undefined;
      }, () => pool.workers());
      assert.deepEqual(after.map((w) => w.restarts), before.map((w) => w.restarts + 1));
      for (const w of before) assert.equal(alive(w.pid), false, `the hung worker ${w.pid} is gone`);
      assert.equal(await sample(kit.metrics.workerRestarts), restartsBefore + 2);
      await kit.gaugeMatches();
      // The hang is published at once (still counted as before), then the exit (counted).
      assert.deepEqual(workerEvents(kit, 'worker-0', eventsFrom).filter((e) => e.pid === before[0]!.pid && e.state === 'exited').map((e) => [e.state, e.restarts]),
        [['exited', before[0]!.restarts], ['exited', before[0]!.restarts + 1]]);
    });

    test('restartAll replaces every worker; a run in flight on an old worker finishes there; calls share one restart', async () => {
      await allReady('both workers ready');
      const before = pool.workers();
      const restartsBefore = await sample(kit.metrics.workerRestarts);
      const retriesBefore = await sample(kit.metrics.retries, { model: 'iris@1' });
      const warnsBefore = kit.warns.length;
      // worker-0 is frozen so that the run it holds is still in flight when it is replaced.
      process.kill(before[0]!.pid!, 'SIGSTOP');
      let continued = false;
      let ranDone = false;
      let restartDone = false;
      try {
        const inFlight = pool.run(iris, irisInput(SETOSA), undefined, { timeoutMs: 10_000 }).finally(() => { ranDone = true; });
        await until('the run on worker-0', () => pool.workers()[0]!.outstanding === 1, () => pool.workers(), 5000, 0);
        const restart = pool.restartAll();
        assert.equal(pool.restartAll(), restart, 'a call during a restart shares it');
        const checked = restart.then((r) => { restartDone = true; assert.equal(continued, true, 'restartAll resolved while the old worker still held a run'); return r; });
        const fresh0 = await until('worker-0 replaced', () => {
          const w = pool.workers()[0]!;
          return w.pid !== before[0]!.pid ? w : undefined;
        }, () => pool.workers());
        assert.equal(fresh0.state, 'ready');
        assert.equal(fresh0.restarts, before[0]!.restarts, 'a replacement is not a restart');
        assert.ok(alive(before[0]!.pid), 'the old worker drains');
        assert.equal(ranDone, false);
        // New work goes to the replacement, not the old worker.
        assert.deepEqual(labelOf(await pool.run(iris, irisInput(VIRGINICA), undefined, { timeoutMs: 5000 })), [2]);
        await sleep(30);
        assert.equal(ranDone, false);
        assert.equal(restartDone, false);
        continued = true;
        process.kill(before[0]!.pid!, 'SIGCONT');
        assert.deepEqual(labelOf(await inFlight), [0]);
        const result = await checked;
        const now = pool.workers();
        assert.deepEqual(result, [0, 1].map((i) => ({ id: `worker-${i}`, oldPid: before[i]!.pid, pid: now[i]!.pid })));
        for (let i = 0; i < 2; i++) {
          assert.notEqual(now[i]!.pid, before[i]!.pid);
          assert.equal(now[i]!.state, 'ready');
          assert.equal(now[i]!.restarts, before[i]!.restarts);
        }
      } finally {
        if (!continued) process.kill(before[0]!.pid!, 'SIGCONT');
      }
      await until('the old workers to exit', () => before.every((w) => !alive(w.pid)), () => before.map((w) => [w.pid, alive(w.pid)]));
      assert.equal(await sample(kit.metrics.retries, { model: 'iris@1' }), retriesBefore, 'the in-flight run was not re-sent');
      assert.equal(await sample(kit.metrics.workerRestarts), restartsBefore, 'planned exits are not restarts');
      assert.equal(kit.warns.length, warnsBefore);
      assert.deepEqual(pool.workers().map((w) => w.restarts), before.map((w) => w.restarts));
      await kit.gaugeMatches();
      assert.equal(await sample(kit.metrics.workersReady), 2);
    });
  });

  describe('a pool of one worker: stats, unload, close', { concurrency: false }, () => {
    let kit: PoolKit;
    let pool: WorkerPool;

    before(async () => {
      kit = makePool({ size: 1, readyTimeoutMs: 10_000, logLevel: 'warn' });
      pool = kit.pool;
      await pool.started();
    });
    after(() => pool?.close());

    test('loaded models and memory arrive with the stats; unload drops a model from the workers', async () => {
      // A first report with nothing loaded: memory alone is not published.
      await until('the first stats', () => pool.workers()[0]!.rssBytes > 0, () => pool.workers(), 5000, 20);
      assert.deepEqual(transitions(workerEvents(kit, 'worker-0')), [['starting', pool.workers()[0]!.pid, 0], ['ready', pool.workers()[0]!.pid, 0]]);
      assert.equal(workerEvents(kit, 'worker-0').length, 2);
      assert.deepEqual(labelOf(await pool.run(iris, irisInput(SETOSA), undefined, { timeoutMs: 5000 })), [0]);
      const loaded = await until('iris@1 reported loaded', () => {
        const [w] = pool.workers();
        return w!.loadedModels.includes('iris@1') ? w : undefined;
      }, () => pool.workers(), 5000, 20);
      assert.deepEqual(loaded.loadedModels, ['iris@1']);
      assert.ok(loaded.rssBytes > 0);
      assert.equal(await sample(kit.metrics.workerRss, { worker: 'worker-0' }), pool.workers()[0]!.rssBytes);
      pool.unload('nothing@9'); // unknown keys are ignored
      pool.unload('iris@1');
      await until('iris@1 reported unloaded', () => pool.workers()[0]!.loadedModels.length === 0, () => pool.workers(), 5000, 20);
      // Each change of what is loaded is published once; memory alone is not news.
      const states = workerEvents(kit, 'worker-0').map((e) => [e.state, e.loadedModels.join(',')]);
      assert.deepEqual(states, [['starting', ''], ['ready', ''], ['ready', 'iris@1'], ['ready', '']]);
      assert.deepEqual(pool.workers().map((w) => [w.state, w.restarts]), [['ready', 0]]);
    });

    test('a hub id is read from CORRAL_HOME/hub; with remote models off an uncached one is refused; a runtime that cannot inspect says so', async () => {
      // The pool passes CORRAL_HOME and CORRAL_ALLOW_REMOTE_MODELS=0; the worker derives its model cache from them.
      writeHfCacheSnapshot(join(home, 'hub'), 'tiny/bert', 'abc123', writeTinyBert(join(home, 'tiny-bert'), { task: 'feature-extraction' }));
      const bert: ModelRef = { key: 'tiny/bert#fe', name: 'tiny-bert', runtime: 'transformers', path: 'tiny/bert', options: { task: 'feature-extraction' } };
      const out = await pool.run(bert, { texts: ['hello', 'world'] }, undefined, { timeoutMs: 30_000 }) as { results: Array<{ embedding: Float32Array }> };
      assert.deepEqual(out.results.map((r) => r.embedding.length), [TINY_BERT_HIDDEN, TINY_BERT_HIDDEN]);
      const uncached: ModelRef = { key: 'minilm#fe', name: 'minilm', runtime: 'transformers', path: 'Xenova/all-MiniLM-L6-v2', options: { task: 'feature-extraction' } };
      const refused = await failure(pool.run(uncached, { texts: ['hello'] }, undefined, { timeoutMs: 30_000 }));
      assertCorral(refused, 'INFERENCE_FAILED', /^Model 'minilm' could not be loaded: .*not in the model cache/);
      assert.match(refused.message, /CORRAL_ALLOW_REMOTE_MODELS/);
      assert.ok(refused.message.includes(join(home, 'hub')), refused.message);
      assertCorral(await failure(pool.inspect('keyterms', models.iris!)), 'INVALID_MODEL_FILE', "The file is not a valid model: runtime 'keyterms' cannot inspect files");
      assert.deepEqual(pool.workers().map((w) => w.restarts), [0]);
      pool.unload('tiny/bert#fe');
    });

    test('a generation run streams its text through the pool as chunks, in order, before the output', async () => {
      const gpt2: ModelRef = { key: 'gpt2#tg', name: 'tiny-gpt2', runtime: 'transformers', path: writeTinyGpt2(join(home, 'tiny-gpt2')), options: { task: 'text-generation' } };
      const chunks: unknown[] = [];
      let chunksAtOutput = -1;
      const output = await pool.run(gpt2, { prompt: 'Hello' }, (chunk) => chunks.push(chunk), { timeoutMs: 30_000 })
        .then((out) => { chunksAtOutput = chunks.length; return out as { text: string; finishReason: string }; });
      assert.deepEqual(chunks.map((c) => (c as { text: string }).text), [' the', ' cat', ' sat', ' on', ' a', ' mat', '.']);
      assert.equal(chunksAtOutput, 7, 'every chunk arrived before the output');
      assert.deepEqual([output.text, output.finishReason], [' the cat sat on a mat.', 'stop']);
      pool.unload('gpt2#tg');
    });

    test('close ends runs in flight and a restartAll under way with NO_WORKERS, counts no restarts, and refuses new work', async () => {
      const [before] = pool.workers();
      const eventsFrom = kit.events.length;
      const inFlight = failure(pool.run(hang, hangInput(), undefined, { timeoutMs: 20_000 }));
      await until('the hang run on worker-0', () => pool.workers()[0]!.outstanding === 1, () => pool.workers(), 5000, 0);
      const restarting = failure(pool.restartAll());
      let closed = false;
      const closing = pool.close().then(() => { closed = true; });
      assertCorral(await inFlight, 'NO_WORKERS', 'The server is shutting down; the request was not finished.');
      assertCorral(await restarting, 'NO_WORKERS', /^The replacement of worker-0 exited before it was ready/);
      await closing;
      assert.equal(closed, true);
      const [after] = pool.workers();
      assert.equal(after!.state, 'exited');
      assert.equal(after!.restarts, 0, 'exits while closing are not restarts');
      assert.equal(alive(before!.pid), false);
      assert.equal(await sample(kit.metrics.workerRestarts), 0);
      assert.equal(await sample(kit.metrics.retries, { model: 'hang@1' }), 0);
      assert.equal(exitWarns(kit).length, 0);
      assert.equal(pool.isReady(), false);
      await kit.gaugeMatches();
      assert.deepEqual(workerEvents(kit, 'worker-0', eventsFrom).map((e) => [e.state, e.pid, e.restarts]), [['exited', before!.pid, 0]]);
      assertCorral(await failure(pool.run(iris, irisInput(SETOSA))), 'NO_WORKERS', 'The server is shutting down.');
      assertCorral(await failure(pool.inspect('onnx', models.iris!)), 'NO_WORKERS', 'The server is shutting down.');
      await pool.close(); // again: nothing left to wait for
    });
  });

  describe('a pool of three workers: a model that kills its workers; a replacement that dies', { concurrency: false }, () => {
    let kit: PoolKit;
    let pool: WorkerPool;

    before(async () => {
      kit = makePool({ size: 3, readyTimeoutMs: 10_000, logLevel: 'warn' });
      pool = kit.pool;
      await pool.started();
    });
    after(() => pool?.close());

    test('restartAll whose replacement exits before it is ready rejects NO_WORKERS and keeps the old workers', async () => {
      const before = pool.workers();
      const saved = process.env.NODE_OPTIONS;
      const dyingRestart = () => {
        process.env.NODE_OPTIONS = `${saved ?? ''} ${DIE_AT_START}`.trim();
        try {
          return pool.restartAll();
        } finally {
          process.env.NODE_OPTIONS = saved;
        }
      };
      const first = dyingRestart();
      const message = 'The replacement of worker-0 exited before it was ready; the old worker keeps running.';
      assertCorral(await failure(first), 'NO_WORKERS', message);
      // The failed restart is over: the next call is a new one.
      const second = dyingRestart();
      assert.notEqual(second, first);
      assertCorral(await failure(second), 'NO_WORKERS', message);
      assert.deepEqual(pool.workers().map((w) => [w.pid, w.state, w.restarts]), before.map((w) => [w.pid, 'ready', 0]));
      assert.equal(await sample(kit.metrics.workerRestarts), 0);
      assert.equal(exitWarns(kit).length, 0);
      await kit.gaugeMatches();
    });

    test('a model that kills its worker is tried max(3, size + 1) = 4 times, then INFERENCE_FAILED', async () => {
      const before = pool.workers();
      const runsBefore = faultRuns();
      const err = await failure(pool.run(killer, irisInput(SETOSA), undefined, { timeoutMs: 10_000 }));
      assertCorral(err, 'INFERENCE_FAILED', "Model 'kills-worker' crashed its worker 4 times; it was not run again.");
      const runs = poolFaultRuns(kit, runsBefore);
      assert.equal(runs.length, 4, runs.join('; '));
      assert.equal(new Set(runs).size, 4, 'each attempt ran on another worker process');
      for (const w of before) assert.ok(runs.includes(`run ${w.pid}`), `${w.pid} in ${runs.join('; ')}`);
      assert.equal(await sample(kit.metrics.retries, { model: 'kills-worker@1' }), 3);
      const restarts = () => pool.workers().reduce((n, w) => n + w.restarts, 0);
      assert.equal(restarts(), 4);
      assert.equal(await sample(kit.metrics.workerRestarts), 4);
      assert.deepEqual(exitWarns(kit).map((l) => l.signal), ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL']);
      await kit.gaugeMatches();
    });
  });

  describe('no worker ready in time; WorkerHandle on its own; a model that kills the only worker', { concurrency: false }, () => {
    test('memoryBudgetBytes reaches the worker: with room for one model, running a second unloads the first', async () => {
      const kit = makePool({ size: 1, readyTimeoutMs: 10_000, memoryBudgetBytes: 1 });
      const { pool } = kit;
      try {
        await pool.started();
        const copy: ModelRef = { key: 'iris-copy@1', name: 'iris-copy', runtime: 'onnx', path: models.iris! };
        assert.deepEqual(labelOf(await pool.run(iris, irisInput(SETOSA), undefined, { timeoutMs: 10_000 })), [0]);
        assert.deepEqual(labelOf(await pool.run(copy, irisInput(VIRGINICA), undefined, { timeoutMs: 10_000 })), [2]);
        // With the default budget (4 GiB) both would stay loaded.
        await until('only iris-copy@1 loaded', () => pool.workers()[0]!.loadedModels.join() === 'iris-copy@1' && pool.workers()[0], () => pool.workers(), 8000, 20);
      } finally {
        await pool.close();
      }
    });

    test('a pool whose workers are not ready within readyTimeoutMs: TIMEOUT, NO_WORKERS, and failed restartAll', async () => {
      const kit = makePool({ size: 1, readyTimeoutMs: 5 });
      const { pool } = kit;
      try {
        assert.equal(pool.isReady(), false);
        assert.equal(pool.capacity(), 1);
        // No limits: the limit is readyTimeoutMs, and the batch's deadline passes first.
        assertCorral(await failure(pool.run(iris, irisInput(SETOSA))), 'TIMEOUT', timeoutMessage('iris', 5));
        // No time limit at all (0): waiting for a worker ends at readyTimeoutMs.
        const noWorkers = 'No worker became ready within 5 ms; check the server log for worker start errors.';
        assertCorral(await failure(pool.run(iris, irisInput(SETOSA), undefined, { timeoutMs: 0 })), 'NO_WORKERS', noWorkers);
        assertCorral(await failure(pool.inspect('onnx', models.iris!)), 'NO_WORKERS', noWorkers);
        const first = pool.restartAll();
        assert.equal(pool.restartAll(), first);
        const notReady = 'The replacement of worker-0 was not ready within 5 ms; the old worker keeps running.';
        assertCorral(await failure(first), 'NO_WORKERS', notReady);
        const second = pool.restartAll();
        assert.notEqual(second, first, 'a settled restart is not shared');
        assertCorral(await failure(second), 'NO_WORKERS', notReady);
        assert.deepEqual(pool.workers().map((w) => [w.id, w.restarts]), [['worker-0', 0]]);
      } finally {
        await pool.close();
      }
      assert.equal(pool.workers()[0]!.state, 'exited');
      assert.equal(pool.workers()[0]!.restarts, 0);
      assert.equal(await sample(kit.metrics.workerRestarts), 0);
    });

    test('WorkerHandle: runs, traces, time limits, idle, kill and exit', async () => {
      const calls: string[] = [];
      const lines: Array<{ line: string; models: string[] }> = [];
      const hangs: Array<[string, number]> = [];
      const exits: Array<[number | null, string | null]> = [];
      const options = (id: string, extra: Partial<ConstructorParameters<typeof WorkerHandle>[0]> = {}) => ({
        id, home, allowRemoteModels: false, threads: 1, memoryBudgetBytes: 1024 ** 3,
        onReady: () => calls.push(`${id} ready`),
        onStats: () => undefined,
        onExit: (code: number | null, signal: string | null) => { calls.push(`${id} exit`); exits.push([code, signal]); },
        ...extra,
      });
      const h = new WorkerHandle(options('h-0', {
        logLevel: 'debug',
        onOutput: (_s, line, running) => { lines.push({ line, models: running }); },
        onHang: (model, limitMs) => { hangs.push([model.key, limitMs]); },
      }));
      const h2 = new WorkerHandle(options('h-1'));
      try {
        assert.equal(h.state, 'starting');
        assert.deepEqual(h.info(7), { id: 'h-0', pid: h.pid, state: 'starting', outstanding: 0, rssBytes: 0, loadedModels: [], restarts: 7 });
        await until('both handles ready', () => h.state === 'ready' && h2.state === 'ready', () => [h.state, h2.state]);
        assert.deepEqual(calls.slice().sort(), ['h-0 ready', 'h-1 ready']);

        // The default kill signal is SIGTERM.
        h2.kill();
        await until('h-1 to exit', () => h2.state === 'exited', () => h2.state);
        assert.deepEqual(exits, [[null, 'SIGTERM']]);
        const exited = await failure(h2.run(iris, irisInput(SETOSA)));
        assert.ok(exited instanceof WorkerCrashedError);
        assert.equal(exited.message, 'worker h-1 has exited');
        h2.unload('iris@1'); // harmless on an exited worker

        let idle = false;
        await h.idle().then(() => { idle = true; });
        assert.equal(idle, true);
        const trace = { requestIds: ['h-req'], timing: {} as { computeMs?: number } };
        const out = await h.run(iris, irisInput(VIRGINICA), undefined, undefined, undefined, trace);
        assert.deepEqual(labelOf(out), [2]);
        assert.equal(typeof trace.timing.computeMs, 'number');
        const line = await until('the line of h-req', () => lines.find((l) => l.line.includes('"h-req"')), () => lines.slice(-3));
        assert.deepEqual(line.models, ['iris']);
        assert.equal(h.outstanding, 0);

        // A hung run: the first window is timeoutMs, the limit reported is chunkTimeoutMs.
        await failure(h.run(hang, hangInput([1, 3]))); // loads the model without running it
        // Frozen while the runs are sent: going on, it takes the hang first and spins in it; the others wait behind.
        process.kill(h.pid!, 'SIGSTOP');
        let timed: Promise<Error>, unlimited: Promise<Error>, other: Promise<Error>;
        try {
          timed = failure(h.run(hang, hangInput(), undefined, 300, 1500));
          unlimited = failure(h.run(hang, hangInput()));
          other = failure(h.run(iris, irisInput(SETOSA), undefined, 10_000));
          assert.equal(h.outstanding, 3);
        } finally {
          process.kill(h.pid!, 'SIGCONT');
        }
        let drained = false;
        const draining = h.idle().then(() => { drained = true; });
        assert.equal(drained, false);
        const timeout = await timed;
        assert.ok(timeout instanceof WorkerTimeoutError, String(timeout));
        assert.equal(timeout.limitMs, 1500);
        assert.equal(timeout.model, 'hang');
        assert.equal(timeout.message, "model 'hang' did not answer within 1500 ms");
        // Runs without a limit, and of other models, fail as a crash (to be re-sent).
        for (const err of [await unlimited, await other]) {
          assert.ok(err instanceof WorkerCrashedError && !(err instanceof WorkerTimeoutError), String(err));
          assert.equal(err.message, "worker h-0 was killed: model 'hang' hung on it");
        }
        assert.equal(h.state, 'exited');
        assert.equal(h.outstanding, 0);
        await draining;
        assert.deepEqual(hangs, [['hang@1', 1500]]);
        await until('h-0 to exit', () => exits.length === 2, () => exits);
        assert.deepEqual(exits[1], [null, 'SIGKILL']);
        assert.deepEqual(hangs, [['hang@1', 1500]], 'one hang, reported once');
      } finally {
        h.kill('SIGKILL');
        h2.kill('SIGKILL');
      }
    });

    test('WorkerHandle output: CR stripped, lines joined across writes, long lines cut at 64 KiB, the last partial line flushed at exit', async () => {
      const lines: Array<{ stream: string; line: string; models: string[] }> = [];
      const exits: Array<[number | null, string | null]> = [];
      const h = new WorkerHandle({
        id: 'h-out', home, allowRemoteModels: false, threads: 1, memoryBudgetBytes: 1024 ** 3, logLevel: 'warn',
        onReady: () => undefined, onStats: () => undefined,
        onExit: (code, signal) => { exits.push([code, signal]); },
        onOutput: (stream, line, running) => { lines.push({ stream, line, models: running }); },
      });
      try {
        await until('h-out ready', () => h.state === 'ready', () => h.state);
        const printer = { key: 'prints-output@1', name: 'prints-output', runtime: 'onnx', path: models.iris! };
        assert.deepEqual(labelOf(await h.run(printer, irisInput(VIRGINICA))), [2]);
        const stdout = await until('both stdout lines', () => {
          const got = lines.filter((l) => l.stream === 'stdout');
          return got.length >= 2 ? got : undefined;
        }, () => lines.map((l) => l.line.slice(0, 40)));
        assert.deepEqual(stdout, [
          { stream: 'stdout', line: 'a line ended by CRLF', models: ['prints-output'] },
          { stream: 'stdout', line: 'one line in two writes', models: ['prints-output'] },
        ]);
        const long = await until('the long stderr line', () => {
          const got = lines.filter((l) => l.stream === 'stderr').map((l) => l.line);
          return got.join('').length >= 150_000 ? got : undefined;
        }, () => lines.length);
        // Cut into pieces no longer than the cap plus one pipe read, which together are the line.
        assert.equal(long.join(''), 'y'.repeat(150_000));
        assert.ok(long.length >= 2, `one ${long[0]!.length}-character line was held whole`);
        for (const piece of long) assert.ok(piece.length > 65_536 && piece.length <= 2 * 65_536 || piece === long.at(-1), `a piece of ${piece.length}`);

        const before = lines.length;
        const crashed = await failure(h.run({ key: 'exits-5@1', name: 'exits-5', runtime: 'onnx', path: models.iris! }, irisInput(SETOSA)));
        assert.ok(crashed instanceof WorkerCrashedError, String(crashed));
        assert.equal(crashed.message, 'worker h-out exited (code 5)');
        await until('h-out to exit', () => exits.length === 1, () => exits);
        assert.deepEqual(exits, [[5, null]]);
        await until('the last line', () => lines.length > before, () => lines.length);
        // Flushed once at the end of the stream, and no empty line for a stream that ended with a newline.
        assert.deepEqual(lines.slice(before).map((l) => [l.stream, l.line]), [['stderr', 'last words without a newline']]);
        assert.equal(lines.filter((l) => l.line === '').length, 0);
      } finally {
        h.kill('SIGKILL');
      }
    });

    test('with one worker, a model that kills its worker is tried max(3, size + 1) = 3 times', async () => {
      const kit = makePool({ size: 1, readyTimeoutMs: 10_000, logLevel: 'warn' });
      const { pool } = kit;
      try {
        await pool.started();
        const [before] = pool.workers();
        const runsBefore = faultRuns();
        const err = await failure(pool.run(killer, irisInput(SETOSA), undefined, { timeoutMs: 10_000 }));
        assertCorral(err, 'INFERENCE_FAILED', "Model 'kills-worker' crashed its worker 3 times; it was not run again.");
        const runs = poolFaultRuns(kit, runsBefore);
        assert.equal(runs.length, 3, runs.join('; '));
        assert.equal(new Set(runs).size, 3, 'each attempt ran on a new worker process');
        assert.equal(runs[0], `run ${before!.pid}`);
        assert.equal(await sample(kit.metrics.retries, { model: 'kills-worker@1' }), 2);
        assert.equal(pool.workers()[0]!.restarts, 3);
        assert.equal(await sample(kit.metrics.workerRestarts), 3);
      } finally {
        await pool.close();
      }
      assert.equal(pool.workers()[0]!.restarts, 3, 'closing counts no restart');
    });
  });
});
