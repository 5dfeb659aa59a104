// The in-memory job queue on its own, with an execute function the test settles
// by hand: the order jobs start in, the states and fields each one passes
// through, the queue limit, cancellation, listeners and the result sweep.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CorralError } from '../../src/errors/index.js';
import type { JobOutcome } from '../../src/jobs/execute-job.js';
import { InProcessJobQueue } from '../../src/jobs/in-process-job-queue.js';
import { JobListeners } from '../../src/jobs/job-listeners.js';
import type { JobSpec, JobView } from '../../src/jobs/job.js';
import { waitFor } from '../helpers/scale-out.js';

/** A job run the test ends: `finish` with an outcome, or `crash` with an error. */
interface Run { spec: JobSpec; finish: (outcome: JobOutcome) => void; crash: (err: Error) => void }

function harness(options: { concurrency?: number; maxQueued?: number; resultTtlMs?: number } = {}) {
  const runs: Run[] = [];
  const finished: Array<{ job: JobView; spec: JobSpec }> = [];
  const queue = new InProcessJobQueue({
    concurrency: options.concurrency ?? 1,
    maxQueued: options.maxQueued ?? 10,
    resultTtlMs: options.resultTtlMs ?? 60_000,
    execute: (spec) => new Promise<JobOutcome>((resolve, reject) => { runs.push({ spec, finish: resolve, crash: reject }); }),
    onFinished: (job, spec) => finished.push({ job, spec }),
  });
  return { queue, runs, finished };
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ok = (body: unknown): JobOutcome => ({ ok: true, statusCode: 200, body });
/** Lets the queue's promise callbacks (then/finally after a run settles) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('InProcessJobQueue', () => {
  test('add answers the job as it is then: active when a slot was free, else queued', async () => {
    const { queue, runs } = harness();
    const first = await queue.add({ service: 'iris', input: { x: 1 }, owner: 'key-1' });
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    assert.equal(first.state, 'active');
    assert.equal(first.progress, 50);
    assert.equal(first.attempts, 1);
    assert.match(first.started_at!, ISO);
    assert.equal(first.finished_at, undefined);
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0]!.spec, { service: 'iris', input: { x: 1 }, owner: 'key-1' });
    const second = await queue.add({ service: 'iris', input: { x: 2 }, owner: 'key-2' });
    assert.notEqual(second.id, first.id);
    assert.deepEqual({ ...second, id: '', created_at: '' }, { id: '', service: 'iris', owner: 'key-2', state: 'queued', progress: 0, attempts: 0, request: { input: { x: 2 } }, created_at: '' });
    assert.match(second.created_at, ISO);
    assert.deepEqual(await queue.get(second.id), second);
    assert.equal(runs.length, 1);
    await queue.close();
  });

  test('a completed run keeps its body and status; the next job starts only then', async () => {
    const { queue, runs, finished } = harness();
    const first = await queue.add({ service: 'a', input: 1 });
    const second = await queue.add({ service: 'b', input: 2 });
    assert.equal(runs.length, 1);
    assert.equal((await queue.get(second.id))!.state, 'queued');
    runs[0]!.finish({ ok: true, statusCode: 201, body: { labels: [0] } });
    await settle();
    const done = (await queue.get(first.id))!;
    assert.equal(done.state, 'completed');
    assert.equal(done.progress, 100);
    assert.deepEqual(done.result, { labels: [0] });
    assert.equal(done.status_code, 201);
    assert.equal(done.error, undefined);
    assert.match(done.finished_at!, ISO);
    assert.equal(runs.length, 2);
    assert.equal(runs[1]!.spec.service, 'b');
    assert.equal((await queue.get(second.id))!.state, 'active');
    assert.deepEqual(finished.map((f) => [f.job.id, f.job.state, f.spec.service]), [[first.id, 'completed', 'a']]);
    await queue.close();
  });

  test('a failed outcome and a thrown error both end the job failed, with the reason', async () => {
    const { queue, runs, finished } = harness({ concurrency: 2 });
    const refused = await queue.add({ service: 'a', input: 1 });
    const crashed = await queue.add({ service: 'b', input: 2 });
    runs[0]!.finish({ ok: false, statusCode: 400, body: { error: 'bad' }, error: 'bad input' });
    runs[1]!.crash(new Error('service gone'));
    await settle();
    const a = (await queue.get(refused.id))!;
    assert.deepEqual([a.state, a.progress, a.error, a.status_code, a.result], ['failed', 100, 'bad input', 400, undefined]);
    const b = (await queue.get(crashed.id))!;
    assert.deepEqual([b.state, b.progress, b.error, b.status_code], ['failed', 100, 'service gone', undefined]);
    assert.match(b.finished_at!, ISO);
    assert.deepEqual(finished.map((f) => f.job.state), ['failed', 'failed']);
    await queue.close();
  });

  test('concurrency bounds the jobs running at once, and a slot freed by a crash starts the next', async () => {
    const { queue, runs } = harness({ concurrency: 2 });
    for (const service of ['a', 'b', 'c', 'd']) await queue.add({ service, input: 0 });
    assert.deepEqual(runs.map((r) => r.spec.service), ['a', 'b']);
    runs[1]!.crash(new Error('x'));
    await settle();
    assert.deepEqual(runs.map((r) => r.spec.service), ['a', 'b', 'c']);
    runs[0]!.finish(ok(1));
    await settle();
    assert.deepEqual(runs.map((r) => r.spec.service), ['a', 'b', 'c', 'd']);
    await queue.close();
  });

  test('jobs without a priority start first, then priority 1, 2, ...; ties by arrival', async () => {
    const { queue, runs } = harness();
    await queue.add({ service: 'blocker', input: 0 });
    await queue.add({ service: 'p2-first', input: 0, priority: 2 });
    await queue.add({ service: 'p1', input: 0, priority: 1 });
    await queue.add({ service: 'none-first', input: 0 });
    await queue.add({ service: 'p2-second', input: 0, priority: 2 });
    await queue.add({ service: 'none-second', input: 0 });
    for (let i = 0; i < 6; i++) {
      runs[i]!.finish(ok(i));
      await settle();
    }
    assert.deepEqual(runs.map((r) => r.spec.service), ['blocker', 'none-first', 'none-second', 'p1', 'p2-first', 'p2-second']);
    await queue.close();
  });

  test('past maxQueued waiting jobs, add throws QUEUE_FULL (429) with Retry-After; running jobs do not count', async () => {
    const { queue } = harness({ maxQueued: 2 });
    await queue.add({ service: 'running', input: 0 });
    await queue.add({ service: 'w1', input: 0 });
    await queue.add({ service: 'w2', input: 0 });
    await assert.rejects(queue.add({ service: 'w3', input: 0 }), (err: unknown) => {
      assert.ok(err instanceof CorralError);
      assert.equal(err.code, 'QUEUE_FULL');
      assert.equal(err.status, 429);
      assert.equal(err.message, '2 jobs are queued, the limit; retry shortly.');
      assert.deepEqual(err.headers, { 'retry-after': '1' });
      return true;
    });
    await queue.close();
  });

  test('cancel: a queued job is cancelled and never runs; an active one is 409; an unknown one 404', async () => {
    const { queue, runs, finished } = harness();
    const active = await queue.add({ service: 'a', input: 0 });
    const queued = await queue.add({ service: 'b', input: 0 });
    const after = await queue.add({ service: 'c', input: 0 });
    const cancelled = await queue.cancel(queued.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.match(cancelled.finished_at!, ISO);
    assert.deepEqual(finished.map((f) => [f.job.id, f.job.state]), [[queued.id, 'cancelled']]);
    await assert.rejects(queue.cancel(active.id), (err: unknown) => err instanceof CorralError && err.code === 'JOB_NOT_CANCELLABLE' && err.status === 409
      && err.message === `Job '${active.id}' is active; only queued jobs can be cancelled.`);
    await assert.rejects(queue.cancel(queued.id), (err: unknown) => err instanceof CorralError && err.code === 'JOB_NOT_CANCELLABLE');
    await assert.rejects(queue.cancel('nope'), (err: unknown) => err instanceof CorralError && err.code === 'JOB_NOT_FOUND' && err.status === 404
      && err.message === "No job 'nope'.");
    runs[0]!.finish(ok(0));
    await settle();
    // The cancelled job was taken out of line: the one behind it runs next.
    assert.deepEqual(runs.map((r) => r.spec.service), ['a', 'c']);
    assert.equal((await queue.get(after.id))!.state, 'active');
    assert.equal((await queue.get(queued.id))!.state, 'cancelled');
    await queue.close();
  });

  test('get and add answer copies: changing one does not change the job', async () => {
    const { queue } = harness();
    const view = await queue.add({ service: 'a', input: 0 });
    view.state = 'failed';
    const got = (await queue.get(view.id))!;
    got.state = 'failed';
    assert.equal((await queue.get(view.id))!.state, 'active');
    assert.equal(await queue.get('unknown'), undefined);
    await queue.close();
  });

  test('a subscriber sees every change of its job until it unsubscribes', async () => {
    const { queue, runs } = harness();
    await queue.add({ service: 'blocker', input: 0 });
    const job = await queue.add({ service: 'a', input: 0 });
    const seen: string[] = [];
    const other: string[] = [];
    const unsubscribe = queue.subscribe(job.id, (v) => seen.push(`${v.state}:${v.progress}`));
    queue.subscribe('another-job', (v) => other.push(v.state));
    runs[0]!.finish(ok(0));
    await settle();
    runs[1]!.finish(ok(1));
    await settle();
    assert.deepEqual(seen, ['active:50', 'completed:100']);
    unsubscribe();
    const second = await queue.add({ service: 'b', input: 0 });
    queue.subscribe(second.id, (v) => seen.push(`second ${v.state}`));
    runs[2]!.finish(ok(2));
    await settle();
    assert.deepEqual(seen, ['active:50', 'completed:100', 'second completed']);
    assert.deepEqual(other, []);
    await queue.close();
  });

  test('finished jobs are forgotten once their result TTL has passed; running ones are kept', async () => {
    const { queue, runs } = harness({ concurrency: 2, resultTtlMs: 30 });
    const done = await queue.add({ service: 'done', input: 0 });
    const running = await queue.add({ service: 'running', input: 0 });
    runs[0]!.finish(ok(0));
    await settle();
    await waitFor('the finished job to be swept', async () => (await queue.get(done.id)) === undefined, 5_000, 10);
    assert.equal((await queue.get(running.id))!.state, 'active');
    await queue.close();
  });
});

describe('JobListeners', () => {
  test('emits copies to the listeners of one job, and forgets them', () => {
    const listeners = new JobListeners();
    const got: JobView[] = [];
    assert.equal(listeners.watched('j1'), false);
    const off = listeners.subscribe('j1', (job) => got.push(job));
    const offSecond = listeners.subscribe('j1', () => undefined);
    assert.equal(listeners.watched('j1'), true);
    const job: JobView = { id: 'j1', service: 's', state: 'queued', progress: 0, attempts: 0, created_at: 'now' };
    listeners.emit(job);
    listeners.emit({ ...job, id: 'j2' });
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], job);
    assert.notEqual(got[0], job);
    off();
    assert.equal(listeners.watched('j1'), true);
    offSecond();
    assert.equal(listeners.watched('j1'), false);
    listeners.subscribe('j1', () => undefined);
    listeners.forget('j1');
    assert.equal(listeners.watched('j1'), false);
  });
});
