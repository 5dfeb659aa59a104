/**
 * Request time limits in scale-out mode (BullMQ on the real Redis, real `corral worker`
 * processes, and test/fixtures/hang-model.ts, which onnxruntime really hangs on). A
 * request past its limit is answered 504 TIMEOUT by the gateway, and its job ends for
 * good: the worker running it stops at the deadline and fails it without a retry, a
 * job retried after its worker died past the deadline is refused, and so is a job
 * that waited in Redis past it. Only states are checked (jobs in Redis, GET
 * /api/workers), never durations.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue, type Job } from 'bullmq';
import { RedisNames } from '../../src/queue/index.js';
import { buildHangModel } from '../fixtures/hang-model.js';
import {
  cleanRedisKeys, killAllWorkers, listWorkers, newPrefix, spawnWorker, startScaleOutServer, waitFor, type WorkerProcess, type WorkerRow,
} from '../helpers/scale-out.js';
import { postJson, uploadModel, type TestServer } from '../helpers/test-server.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SETOSA = [5.1, 3.5, 1.4, 0.2];

interface Envelope {
  http_status: { code: number; description: string; name: string };
  error?: string;
  values?: unknown;
}

async function predict(server: TestServer, model: string, values: number[]): Promise<{ status: number; body: Envelope }> {
  const res = await postJson(`${server.url}/api/v1/models/${model}/prediction`, { values });
  return { status: res.status, body: (await res.json()) as Envelope };
}

function checkTimeout(r: { status: number; body: Envelope }, model: string, limitMs: number): void {
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error, 'TIMEOUT');
  assert.equal(r.body.http_status.code, 504);
  assert.match(r.body.http_status.description, new RegExp(`Model '${model}' did not answer within its time limit of ${limitMs} ms`));
}

/**
 * SIGKILLs a `corral worker` and its model process together, as when its machine goes
 * down. (Its model process, stuck in onnxruntime, would outlive it otherwise.)
 */
async function killMachine(worker: WorkerProcess): Promise<void> {
  const pid = worker.child.pid!;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  await worker.kill('SIGKILL');
  for (const child of children) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('Redis: a request past its time limit', () => {
  const prefix = newPrefix();
  const names = new RedisNames(prefix);
  const queues = new Map<string, Queue>();
  let server: TestServer;

  /** The one job of a model's queue, read from Redis, with its state. */
  async function theJob(model: string): Promise<{ job: Job; state: string }> {
    let queue = queues.get(model);
    if (!queue) {
      queue = new Queue(names.inferenceQueue(model), { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix });
      queue.on('error', () => undefined);
      queues.set(model, queue);
    }
    const jobs = await queue.getJobs(['wait', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    assert.equal(jobs.length, 1, `one job in the queue of '${model}'`);
    return { job: jobs[0]!, state: await jobs[0]!.getState() };
  }

  /** Waits for the job to be in `state` (in Redis). */
  const jobIn = (model: string, state: string) => waitFor(`the job of '${model}' to be ${state}`, async () => {
    const found = await theJob(model);
    return found.state === state && found;
  });

  /** Waits for the job to be finished (completed or failed) and returns it. */
  const finished = (model: string) => waitFor(`the job of '${model}' to end`, async () => {
    const found = await theJob(model);
    return Boolean(found.job.finishedOn) && (found.state === 'completed' || found.state === 'failed') && found;
  }, 30_000);

  /** Asserts the job failed with TIMEOUT, never retried: it was started `started` times in all. */
  function checkFailedTimeout({ job, state }: { job: Job; state: string }, started: number): void {
    assert.equal(state, 'failed', `job ${state}: ${job.failedReason ?? JSON.stringify(job.returnvalue)}`);
    assert.match(job.failedReason, /^CORRAL:TIMEOUT:/);
    assert.equal(job.attemptsStarted, started, 'times the job was started');
  }

  const row = async (worker: WorkerProcess): Promise<WorkerRow> => {
    const found = (await listWorkers(server.url)).find((w) => w.id === worker.id);
    assert.ok(found, `worker ${worker.id} is listed`);
    return found;
  };

  before(async () => {
    server = await startScaleOutServer({ redisUrl: REDIS_URL, prefix });
    const hangPath = join(server.home, 'hang.onnx');
    writeFileSync(hangPath, buildHangModel());
    for (const [name, path] of [['iris', server.models.iris!], ['hang', hangPath], ['hang2', hangPath]] as const) {
      const up = await uploadModel(server.url, name, path);
      assert.equal(up.status, 201, await up.text());
    }
  });
  after(async () => {
    await killAllWorkers();
    for (const q of queues.values()) await q.close().catch(() => undefined);
    await server?.close();
    await cleanRedisKeys(REDIS_URL, prefix);
  });

  const setLimit = async (model: string, ms: number) => {
    const res = await postJson(`${server.url}/api/v1/models/${model}/config`, { timeout_ms: ms }, 'PATCH');
    assert.equal(res.status, 200, await res.text());
  };

  test('that waited in Redis past its deadline is refused by the worker that takes it, never run', async () => {
    const LIMIT = 2000;
    await setLimit('iris', LIMIT);
    // No worker yet: the job waits in Redis until the gateway has answered 504.
    checkTimeout(await predict(server, 'iris', SETOSA), 'iris', LIMIT);
    assert.equal((await theJob('iris')).state, 'waiting');

    const worker = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
    checkFailedTimeout(await finished('iris'), 1);
    const seen = await waitFor('a heartbeat after the refusal', async () => {
      const r = await row(worker);
      return r.lastSeen !== undefined && Date.parse(r.lastSeen) > (await theJob('iris')).job.finishedOn! ? r : undefined;
    });
    assert.equal(seen.processed, 0, 'the worker ran nothing');
    assert.equal(seen.outstanding, 0);

    // The worker serves a request within its limit as usual.
    await setLimit('iris', 60_000);
    const ok = await predict(server, 'iris', SETOSA);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.values, [0]);
    await worker.kill('SIGKILL');
  });

  test('on a worker that hangs: the worker stops at the deadline and fails the job for good', async () => {
    const LIMIT = 4000;
    await setLimit('hang', LIMIT);
    const first = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
    const answer = predict(server, 'hang', SETOSA);
    await jobIn('hang', 'active');
    checkTimeout(await answer, 'hang', LIMIT);
    // The worker's model process is killed at the deadline and the job failed, not retried.
    checkFailedTimeout(await finished('hang'), 1);
    await waitFor('the worker to be idle again', async () => (await row(first)).outstanding === 0);

    // Another worker replaces the first: the job stays failed, nothing is handed to it.
    await first.kill('SIGKILL');
    const second = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
    const ok = await predict(server, 'iris', SETOSA);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    checkFailedTimeout(await theJob('hang'), 1);
    // Its heartbeat may still count the iris request just answered; it settles at none.
    await waitFor('the second worker to report nothing outstanding', async () => (await row(second)).outstanding === 0);
    await second.kill('SIGKILL');
  });

  test('whose worker died before the deadline: the stalled job is refused by the next worker, never run again', async () => {
    // Long enough that the worker is surely killed before the deadline, even on a busy machine
    // (past it, the worker itself would fail the job and the next one would have nothing to refuse).
    const LIMIT = 15_000;
    await setLimit('hang2', LIMIT);
    const first = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
    const answer = predict(server, 'hang2', SETOSA);
    await jobIn('hang2', 'active');
    // The worker dies holding the job, before its deadline; the gateway answers 504 at the deadline.
    await killMachine(first);
    checkTimeout(await answer, 'hang2', LIMIT);
    assert.equal((await theJob('hang2')).state, 'active', 'the job is stalled: still active, its worker gone');

    // The next worker finds the stalled job, takes it back, and refuses it: past its deadline.
    const second = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
    checkFailedTimeout(await finished('hang2'), 2);
    const seen = await waitFor('a heartbeat after the refusal', async () => {
      const r = await row(second);
      return r.lastSeen !== undefined && Date.parse(r.lastSeen) > (await theJob('hang2')).job.finishedOn! ? r : undefined;
    });
    assert.equal(seen.outstanding, 0, 'the second worker is not stuck on it');
    assert.equal(seen.processed, 0, 'the second worker ran nothing');
    // And it serves other models.
    const ok = await predict(server, 'iris', SETOSA);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await second.kill('SIGKILL');
  });
});
