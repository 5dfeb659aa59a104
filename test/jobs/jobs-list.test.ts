// GET /api/jobs and JobQueue.list: newest first, filtered by state, service and
// owner, paged with a cursor. The queue part runs the same cases on the
// in-process queue and on BullMQ against the real Redis (a fresh key prefix);
// the route part runs a real gateway with auth on.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { CorralError } from '../../src/errors/index.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq-job-queue.js';
import { InProcessJobQueue, type JobQueue, type JobSpec, type JobView } from '../../src/jobs/index.js';
import type { JobOutcome } from '../../src/jobs/execute-job.js';
import { bearer, createKey, startAuthServer } from '../auth/auth-helpers.js';
import { cleanRedisKeys, irisBody, newPrefix, waitFor } from '../helpers/scale-out.js';
import { postJson, uploadModel, type TestServer } from '../helpers/test-server.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Run { spec: JobSpec; finish: (outcome: JobOutcome) => void }

const prefixes: string[] = [];
const queues = new Set<JobQueue>();
after(async () => {
  for (const queue of queues) await queue.close();
  for (const prefix of prefixes) await cleanRedisKeys(REDIS_URL, prefix);
});

/** A queue whose jobs run (one at a time) until the test finishes them. */
function harness(kind: 'in-process' | 'bullmq') {
  const runs: Run[] = [];
  const execute = (spec: JobSpec) => new Promise<JobOutcome>((finish) => { runs.push({ spec, finish }); });
  let queue: JobQueue;
  if (kind === 'in-process') {
    queue = new InProcessJobQueue({ execute, concurrency: 1, maxQueued: 100, resultTtlMs: 60_000 });
  } else {
    const prefix = newPrefix();
    prefixes.push(prefix);
    queue = new BullMqJobQueue({
      redisUrl: REDIS_URL, prefix, execute, concurrency: 1, maxQueued: 100, resultTtlSeconds: 60, attempts: 1, lockDurationMs: 5_000,
      logger: pino({ level: 'silent' }),
    });
  }
  queues.add(queue);
  const until = (id: string, state: string) => waitFor(`job ${id} ${state}`, async () => {
    const job = await queue.get(id);
    return job?.state === state && job;
  });
  const started = (n: number) => waitFor(`${n} runs started (have ${runs.length})`, () => runs.length >= n && runs);
  return { queue, runs, until, started };
}

const ids = (jobs: JobView[]) => jobs.map((j) => j.id);

for (const kind of ['in-process', 'bullmq'] as const) {
  describe(`JobQueue.list (${kind})`, () => {
    // Six jobs, oldest first: a completed, a failed, a cancelled, an active and two queued.
    let h: ReturnType<typeof harness>;
    let jobs: JobView[];
    before(async () => {
      h = harness(kind);
      const specs: JobSpec[] = [
        { service: 'iris', input: 1, owner: 'key-a' },
        { service: 'embed', input: 2, owner: 'key-b' },
        { service: 'iris', input: 3, owner: 'key-a' },
        { service: 'iris', input: 4, owner: 'key-b' },
        { service: 'embed', input: 5, owner: 'key-a' },
        { service: 'iris', input: 6 },
      ];
      jobs = [];
      for (const spec of specs) jobs.push(await h.queue.add(spec));
      const [completed, failed, running, cancelled] = jobs;
      (await h.started(1))[0]!.finish({ ok: true, statusCode: 200, body: { done: 1 } });
      await h.until(completed!.id, 'completed');
      (await h.started(2))[1]!.finish({ ok: false, statusCode: 400, body: { error: 'bad input' }, error: 'bad input' });
      await h.until(failed!.id, 'failed');
      // The third job runs (and is left running); the fourth is cancelled before it starts.
      await h.started(3);
      await h.queue.cancel(cancelled!.id);
      await h.until(cancelled!.id, 'cancelled');
      assert.equal((await h.queue.get(running!.id))?.state, 'active');
    });

    test('every job, newest first, with its state', async () => {
      const page = await h.queue.list({ limit: 50 });
      assert.deepEqual(ids(page.jobs), ids(jobs).reverse());
      assert.deepEqual(page.jobs.map((j) => j.state), ['queued', 'queued', 'cancelled', 'active', 'failed', 'completed']);
      assert.equal(page.next, undefined);
      assert.deepEqual(page.jobs.at(-1)!.result, { done: 1 });
      // Each job keeps what was submitted, whatever its state (a cancelled one too).
      assert.deepEqual(page.jobs.map((j) => j.request), [6, 5, 4, 3, 2, 1].map((input) => ({ input })));
    });

    test('filters: state, service, owner (own jobs and ownerless ones), together', async () => {
      const list = async (filter: Parameters<JobQueue['list']>[0]) => ids((await h.queue.list(filter)).jobs);
      assert.deepEqual(await list({ limit: 50, state: 'queued' }), [jobs[5]!.id, jobs[4]!.id]);
      assert.deepEqual(await list({ limit: 50, state: 'completed' }), [jobs[0]!.id]);
      assert.deepEqual(await list({ limit: 50, state: 'failed' }), [jobs[1]!.id]);
      assert.deepEqual(await list({ limit: 50, state: 'cancelled' }), [jobs[3]!.id]);
      assert.deepEqual(await list({ limit: 50, state: 'active' }), [jobs[2]!.id]);
      assert.deepEqual(await list({ limit: 50, service: 'embed' }), [jobs[4]!.id, jobs[1]!.id]);
      assert.deepEqual(await list({ limit: 50, owner: 'key-a' }), [jobs[5]!.id, jobs[4]!.id, jobs[2]!.id, jobs[0]!.id]);
      assert.deepEqual(await list({ limit: 50, owner: 'key-b' }), [jobs[5]!.id, jobs[3]!.id, jobs[1]!.id]);
      assert.deepEqual(await list({ limit: 50, owner: 'key-b', service: 'iris', state: 'cancelled' }), [jobs[3]!.id]);
      assert.deepEqual(await list({ limit: 50, service: 'nope' }), []);
    });

    test('limit and cursor page through the list without gaps or repeats; the last page has no next', async () => {
      const first = await h.queue.list({ limit: 4 });
      assert.deepEqual(ids(first.jobs), ids(jobs).reverse().slice(0, 4));
      assert.equal(typeof first.next, 'string');
      const second = await h.queue.list({ limit: 4, cursor: first.next });
      assert.deepEqual(ids(second.jobs), ids(jobs).reverse().slice(4));
      assert.equal(second.next, undefined);
      // A full page with nothing after it has no next either.
      const exact = await h.queue.list({ limit: 2, cursor: (await h.queue.list({ limit: 4 })).next });
      assert.deepEqual(ids(exact.jobs), [jobs[1]!.id, jobs[0]!.id]);
      assert.equal(exact.next, undefined);
      // Paging a filtered list: the cursor carries on under the same filter.
      const mine = await h.queue.list({ limit: 1, owner: 'key-a', service: 'iris' });
      assert.deepEqual(ids(mine.jobs), [jobs[5]!.id]);
      const mine2 = await h.queue.list({ limit: 1, owner: 'key-a', service: 'iris', cursor: mine.next });
      assert.deepEqual(ids(mine2.jobs), [jobs[2]!.id]);
      const mine3 = await h.queue.list({ limit: 5, owner: 'key-a', service: 'iris', cursor: mine2.next });
      assert.deepEqual(ids(mine3.jobs), [jobs[0]!.id]);
      assert.equal(mine3.next, undefined);
    });

    test('a new job goes first, and does not shift a page already handed out', async () => {
      const first = await h.queue.list({ limit: 3 });
      const added = await h.queue.add({ service: 'iris', input: 7, owner: 'key-a' });
      jobs.push(added);
      assert.deepEqual(ids((await h.queue.list({ limit: 1 })).jobs), [added.id]);
      const rest = await h.queue.list({ limit: 50, cursor: first.next });
      assert.deepEqual(ids(rest.jobs), ids(jobs.slice(0, 6)).reverse().slice(3));
    });

    test('a cursor the queue never handed out is BAD_REQUEST (400)', async () => {
      for (const cursor of ['abc', 'x'.repeat(40), '-1']) {
        await assert.rejects(h.queue.list({ limit: 5, cursor }), (err: unknown) => {
          assert.ok(err instanceof CorralError, String(err));
          assert.equal(err.code, 'BAD_REQUEST');
          assert.equal(err.status, 400);
          assert.equal(err.message, `cursor '${cursor}' is not one this gateway handed out; pass the 'next' of the previous page.`);
          return true;
        });
      }
    });
  });
}

describe('GET /api/jobs', () => {
  let server: TestServer & { adminKey: string };
  let alice: string;
  let bob: string;
  const submitted: Record<string, JobView[]> = { alice: [], bob: [] };
  const get = async (path: string, key: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: bearer(key) });
    return { status: res.status, body: await res.json() as { jobs: JobView[]; next?: string; error?: string; code?: string } };
  };

  before(async () => {
    server = await startAuthServer({ jobConcurrency: 1 });
    assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey)).status, 201);
    alice = (await createKey(server.url, server.adminKey, { name: 'alice', scopes: ['infer'] })).key;
    bob = (await createKey(server.url, server.adminKey, { name: 'bob', scopes: ['infer'] })).key;
    const submit = async (who: 'alice' | 'bob', input: unknown) => {
      const res = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input }, 'POST', who === 'alice' ? alice : bob);
      assert.equal(res.status, 202, await res.clone().text());
      submitted[who].push(await res.json() as JobView);
    };
    await submit('alice', irisBody([[5.1, 3.5, 1.4, 0.2]]));
    await submit('bob', irisBody([[6.7, 3.0, 5.2, 2.3]]));
    await submit('alice', { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    for (const job of [...submitted.alice, ...submitted.bob]) {
      await waitFor(`job ${job.id} to finish`, async () => {
        const { body } = await get(`/api/jobs?limit=500`, server.adminKey);
        const seen = body.jobs.find((j) => j.id === job.id);
        return seen && ['completed', 'failed'].includes(seen.state);
      });
    }
  });
  after(async () => { await server.close(); });

  test('a key lists its own jobs, newest first, without results; an admin lists every job', async () => {
    const own = await get('/api/jobs', alice);
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.jobs.map((j) => [j.id, j.state, j.status_code]), [
      [submitted.alice[1]!.id, 'failed', 400],
      [submitted.alice[0]!.id, 'completed', 200],
    ]);
    assert.equal(own.body.next, undefined);
    for (const job of own.body.jobs) {
      assert.equal('result' in job, false, 'a listed job has no result');
      assert.equal('owner' in job, false, 'a listed job does not name its owner');
    }
    assert.deepEqual(Object.keys(own.body.jobs[1]!).sort(), ['attempts', 'created_at', 'finished_at', 'id', 'progress', 'service', 'started_at', 'state', 'status_code']);
    assert.deepEqual((await get('/api/jobs', bob)).body.jobs.map((j) => j.id), [submitted.bob[0]!.id]);
    const all = await get('/api/jobs', server.adminKey);
    assert.deepEqual(all.body.jobs.map((j) => j.id), [submitted.alice[1]!.id, submitted.bob[0]!.id, submitted.alice[0]!.id]);
  });

  test('state, service, limit and cursor', async () => {
    assert.deepEqual((await get('/api/jobs?state=failed', server.adminKey)).body.jobs.map((j) => j.id), [submitted.alice[1]!.id]);
    assert.deepEqual((await get('/api/jobs?state=completed', alice)).body.jobs.map((j) => j.id), [submitted.alice[0]!.id]);
    assert.deepEqual((await get('/api/jobs?state=queued', server.adminKey)).body.jobs, []);
    assert.deepEqual((await get('/api/jobs?service=iris.onnx', bob)).body.jobs.map((j) => j.id), [submitted.bob[0]!.id]);
    assert.deepEqual((await get('/api/jobs?service=embed', server.adminKey)).body.jobs, []);
    const first = await get('/api/jobs?limit=2', server.adminKey);
    assert.deepEqual(first.body.jobs.map((j) => j.id), [submitted.alice[1]!.id, submitted.bob[0]!.id]);
    assert.equal(typeof first.body.next, 'string');
    const second = await get(`/api/jobs?limit=2&cursor=${first.body.next}`, server.adminKey);
    assert.deepEqual(second.body.jobs.map((j) => j.id), [submitted.alice[0]!.id]);
    assert.equal(second.body.next, undefined);
    // A key's cursor pages its own jobs only.
    const mine = await get('/api/jobs?limit=1', alice);
    assert.deepEqual((await get(`/api/jobs?limit=1&cursor=${mine.body.next}`, alice)).body.jobs.map((j) => j.id), [submitted.alice[0]!.id]);
    assert.equal((await get('/api/jobs?limit=500', server.adminKey)).status, 200);
  });

  test('bad filter values are 400 BAD_REQUEST saying what is wrong', async () => {
    const cases: Array<[string, string]> = [
      ['state=done', 'Invalid request: querystring/state must match pattern "^(queued|active|completed|failed|cancelled)$"'],
      ['state=', 'Invalid request: querystring/state must match pattern "^(queued|active|completed|failed|cancelled)$"'],
      ['limit=0', 'Invalid request: querystring/limit must match pattern "^[1-9][0-9]{0,2}$"'],
      ['limit=ten', 'Invalid request: querystring/limit must match pattern "^[1-9][0-9]{0,2}$"'],
      ['limit=501', "limit is at most 500; page with the 'next' cursor for more."],
      ['limit=5000', 'Invalid request: querystring/limit must match pattern "^[1-9][0-9]{0,2}$"'],
      ['cursor=abc', "cursor 'abc' is not one this gateway handed out; pass the 'next' of the previous page."],
      ['cursor=a%2Fb', 'Invalid request: querystring/cursor must match pattern "^[A-Za-z0-9_-]{1,2048}$"'],
      ['status=queued', "Invalid request: querystring must NOT have additional properties ('status')"],
    ];
    for (const [query, error] of cases) {
      const { status, body } = await get(`/api/jobs?${query}`, alice);
      assert.equal(status, 400, query);
      assert.deepEqual(body, { error, code: 'BAD_REQUEST' }, query);
    }
  });

  test('a key without infer is 403; no key is 401', async () => {
    const reader = (await createKey(server.url, server.adminKey, { name: 'reader', scopes: ['read'] })).key;
    const forbidden = await get('/api/jobs', reader);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'FORBIDDEN');
    assert.equal((await fetch(`${server.url}/api/jobs`)).status, 401);
  });

  test('GET /api/jobs/<id> shows what was submitted (input, and the route when one was named); the list does not', async () => {
    const res = await fetch(`${server.url}/api/jobs/${submitted.alice[0]!.id}`, { headers: bearer(alice) });
    assert.equal(res.status, 200);
    const job = await res.json() as JobView;
    assert.deepEqual(job.request, { input: irisBody([[5.1, 3.5, 1.4, 0.2]]) });
    const routed = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', route: 'v2/models/iris.onnx/infer', input: irisBody([[6.7, 3.0, 5.2, 2.3]]) }, 'POST', bob);
    assert.equal(routed.status, 202, await routed.clone().text());
    const id = (await routed.json() as JobView).id;
    const view = await (await fetch(`${server.url}/api/jobs/${id}`, { headers: bearer(bob) })).json() as JobView;
    assert.deepEqual(view.request, { input: irisBody([[6.7, 3.0, 5.2, 2.3]]), route: 'v2/models/iris.onnx/infer' });
    const listed = await get('/api/jobs', bob);
    assert.ok(listed.body.jobs.some((j) => j.id === id));
    assert.deepEqual(listed.body.jobs.filter((j) => 'request' in j), [], 'a listed job has no request');
    await waitFor(`job ${id} to finish`, async () => (await (await fetch(`${server.url}/api/jobs/${id}`, { headers: bearer(bob) })).json() as JobView).state === 'completed');
  });
});
