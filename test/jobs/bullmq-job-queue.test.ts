// The Redis job queue on its own, against the real Redis server, with an execute
// function the test settles by hand: the states and fields a job passes through,
// the queue limit, priorities, cancellation, listeners and a graceful close.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { CorralError } from '../../src/errors/index.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq-job-queue.js';
import type { JobOutcome } from '../../src/jobs/execute-job.js';
import type { JobSpec, JobView } from '../../src/jobs/job.js';
import { cleanRedisKeys, newPrefix, waitFor } from '../helpers/scale-out.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Run { spec: JobSpec; finish: (outcome: JobOutcome) => void; crash: (err: Error) => void }

const prefixes: string[] = [];
const open = new Set<BullMqJobQueue>();
// A failed assertion leaves its queue open; closing it here lets the file end.
after(async () => {
  for (const queue of open) await queue.close();
  for (const prefix of prefixes) await cleanRedisKeys(REDIS_URL, prefix);
});

function harness(options: { concurrency?: number; maxQueued?: number; attempts?: number; prefix?: string } = {}) {
  const runs: Run[] = [];
  const finished: Array<{ job: JobView; spec: JobSpec }> = [];
  const prefix = options.prefix ?? newPrefix();
  prefixes.push(prefix);
  const queue = new BullMqJobQueue({
    redisUrl: REDIS_URL,
    prefix,
    concurrency: options.concurrency ?? 1,
    maxQueued: options.maxQueued ?? 10,
    resultTtlSeconds: 60,
    attempts: options.attempts ?? 1,
    lockDurationMs: 5_000,
    logger: pino({ level: 'silent' }),
    execute: (spec) => new Promise<JobOutcome>((resolve, reject) => { runs.push({ spec, finish: resolve, crash: reject }); }),
    onFinished: (job, spec) => finished.push({ job, spec }),
  });
  open.add(queue);
  const close = queue.close.bind(queue);
  queue.close = () => { open.delete(queue); return close(); };
  const state = async (id: string) => (await queue.get(id))?.state;
  const until = (id: string, wanted: string) => waitFor(`job ${id} ${wanted}`, async () => (await state(id)) === wanted && queue.get(id));
  const started = (n: number) => waitFor(`${n} runs started`, () => runs.length >= n && runs);
  return { queue, runs, finished, until, started, prefix };
}

describe('BullMqJobQueue', () => {
  test('a job goes queued → active → completed with its body, status and times', async () => {
    const { queue, runs, finished, until, started } = harness();
    const seen: string[] = [];
    const added = await queue.add({ service: 'iris', input: { x: 1 }, owner: 'key-1' });
    queue.subscribe(added.id, (v) => seen.push(v.state));
    assert.match(added.id, /^[0-9a-f-]{36}$/);
    assert.equal(added.service, 'iris');
    assert.equal(added.owner, 'key-1');
    assert.match(added.created_at, ISO);
    await started(1);
    assert.deepEqual(runs[0]!.spec, { service: 'iris', input: { x: 1 }, owner: 'key-1' });
    const active = await until(added.id, 'active');
    assert.equal(active.progress, 50);
    assert.match(active.started_at!, ISO);
    assert.equal(active.finished_at, undefined);
    runs[0]!.finish({ ok: true, statusCode: 201, body: { labels: [2] } });
    const done = await until(added.id, 'completed');
    assert.equal(done.progress, 100);
    assert.deepEqual(done.result, { labels: [2] });
    assert.equal(done.status_code, 201);
    assert.equal(done.error, undefined);
    assert.match(done.finished_at!, ISO);
    await waitFor('onFinished', () => finished.length === 1);
    assert.deepEqual([finished[0]!.job.id, finished[0]!.job.state, finished[0]!.spec.service], [added.id, 'completed', 'iris']);
    await waitFor('the completed event', () => seen.at(-1) === 'completed');
    // Subscribed after add() returned, so the earlier states may have gone by; never a state out of order.
    assert.deepEqual(seen.filter((s, i) => s !== seen[i - 1]), ['queued', 'active', 'completed'].slice(-new Set(seen).size));
    await queue.close();
  });

  test('a failed outcome is a failed job with its error and status, run once; a thrown error fails it with the reason', async () => {
    const { queue, runs, finished, until, started } = harness({ concurrency: 2, attempts: 1 });
    const refused = await queue.add({ service: 'a', input: 1 });
    const crashed = await queue.add({ service: 'b', input: 2 });
    await started(2);
    runs.find((r) => r.spec.service === 'a')!.finish({ ok: false, statusCode: 400, body: { error: 'bad' }, error: 'bad input' });
    runs.find((r) => r.spec.service === 'b')!.crash(new Error('service gone'));
    const a = await until(refused.id, 'failed');
    assert.deepEqual([a.progress, a.error, a.status_code, a.result], [100, 'bad input', 400, undefined]);
    const b = await until(crashed.id, 'failed');
    assert.deepEqual([b.progress, b.error, b.status_code], [100, 'service gone', undefined]);
    assert.match(b.finished_at!, ISO);
    await waitFor('both finished', () => finished.length === 2);
    assert.deepEqual(finished.map((f) => f.job.state).sort(), ['failed', 'failed']);
    assert.equal(runs.length, 2);
    await queue.close();
  });

  test('past maxQueued waiting jobs, add throws QUEUE_FULL (429) with Retry-After', async () => {
    const { queue, runs, started } = harness({ maxQueued: 2 });
    await queue.add({ service: 'running', input: 0 });
    await started(1);
    const waiting = await queue.add({ service: 'w1', input: 0 });
    await queue.add({ service: 'w2', input: 0, priority: 3 });
    const view = (await queue.get(waiting.id))!;
    assert.deepEqual([view.state, view.progress, view.started_at, view.finished_at], ['queued', 0, undefined, undefined]);
    await assert.rejects(queue.add({ service: 'w3', input: 0 }), (err: unknown) => {
      assert.ok(err instanceof CorralError);
      assert.equal(err.code, 'QUEUE_FULL');
      assert.equal(err.message, '2 jobs are queued, the limit; retry shortly.');
      assert.deepEqual(err.headers, { 'retry-after': '1' });
      return true;
    });
    runs[0]!.finish({ ok: true, statusCode: 200, body: null });
    await queue.close();
  });

  test('jobs without a priority start first, then priority 1, 2', async () => {
    const { queue, runs, started } = harness();
    await queue.add({ service: 'blocker', input: 0 });
    await started(1);
    await queue.add({ service: 'p2', input: 0, priority: 2 });
    await queue.add({ service: 'p1', input: 0, priority: 1 });
    await queue.add({ service: 'none', input: 0 });
    for (let i = 0; i < 4; i++) {
      await started(i + 1);
      runs[i]!.finish({ ok: true, statusCode: 200, body: i });
    }
    assert.deepEqual(runs.map((r) => r.spec.service), ['blocker', 'none', 'p1', 'p2']);
    await queue.close();
  });

  test('cancel: a queued job is cancelled, told and never runs; an active one is 409; an unknown one 404', async () => {
    const { queue, runs, finished, started, until } = harness();
    const active = await queue.add({ service: 'a', input: 0 });
    await started(1);
    const queued = await queue.add({ service: 'b', input: 0 });
    const next = await queue.add({ service: 'c', input: 0 });
    const events: string[] = [];
    queue.subscribe(queued.id, (v) => events.push(v.state));
    const cancelled = await queue.cancel(queued.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.service, 'b');
    assert.match(cancelled.finished_at!, ISO);
    assert.deepEqual(events, ['cancelled']);
    assert.deepEqual(finished.map((f) => [f.job.id, f.job.state, f.spec.service]), [[queued.id, 'cancelled', 'b']]);
    assert.deepEqual(await queue.get(queued.id), JSON.parse(JSON.stringify(cancelled)));
    await assert.rejects(queue.cancel(active.id), (err: unknown) => err instanceof CorralError && err.code === 'JOB_NOT_CANCELLABLE'
      && err.message === `Job '${active.id}' is active; only queued jobs can be cancelled.`);
    await assert.rejects(queue.cancel('nope'), (err: unknown) => err instanceof CorralError && err.code === 'JOB_NOT_FOUND' && err.message === "No job 'nope'.");
    assert.equal(await queue.get('nope'), undefined);
    runs[0]!.finish({ ok: true, statusCode: 200, body: 0 });
    await started(2);
    assert.deepEqual(runs.map((r) => r.spec.service), ['a', 'c']);
    runs[1]!.finish({ ok: true, statusCode: 200, body: 1 });
    await until(next.id, 'completed');
    await queue.close();
  });

  test('close waits for a running job to finish, and its result is kept in Redis', async () => {
    const { queue, runs, started, prefix } = harness();
    const job = await queue.add({ service: 'a', input: 0 });
    await started(1);
    let closed = false;
    const closing = queue.close().then(() => { closed = true; });
    // Close is pending as long as the job runs; it returns only after the job ends.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(closed, false);
    runs[0]!.finish({ ok: true, statusCode: 200, body: 'late' });
    await closing;
    const reader = harness({ prefix });
    const kept = (await reader.queue.get(job.id))!;
    assert.deepEqual([kept.state, kept.result], ['completed', 'late']);
    await reader.queue.close();
  });
});
