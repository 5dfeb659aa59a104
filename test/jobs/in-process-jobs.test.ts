// Async jobs without Redis: the gateway's in-memory queue, one job at a time
// (jobConcurrency 1) and at most 4 queued, so jobs line up behind a slow one.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildEncoderModel } from '../fixtures/index.js';
import { getJob, irisBody, labelsOf, readJobEvents, sleep, submitJob, waitFor, waitForJob, waitForJobs, type JobView, type KServeResponse, type SseEvent } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VERSICOLOR = [5.9, 3.0, 4.2, 1.5];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const MAX_QUEUED = 4;
// A slow job (long sequences, many rows) that keeps the single job slot busy for a few seconds.
const SLOW = { hidden: 128, layers: 4, seq: 128 };
const SLOW_ROWS = 512;

let server: TestServer;

before(async () => {
  // The webhook receivers in these tests listen on 127.0.0.1, which webhooks may reach only when allowed.
  server = await startTestServer({ jobConcurrency: 1, maxQueuedJobs: MAX_QUEUED }, { CORRAL_WEBHOOK_ALLOW_PRIVATE: '1' });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
  assert.equal((await uploadModel(server.url, 'encoder', server.models.encoder!)).status, 201);
  const slowPath = join(server.home, 'slow-encoder.onnx');
  writeFileSync(slowPath, buildEncoderModel(SLOW));
  assert.equal((await uploadModel(server.url, 'slow-encoder', slowPath)).status, 201);
});
after(async () => { await server.close(); });

const encoderInput = (seed: number, rows = 64) => ({
  inputs: [{ name: 'input_ids', shape: [rows, 16], datatype: 'INT64', data: Array.from({ length: rows * 16 }, (_, i) => (seed * 101 + i * 7) % 1000) }],
  outputs: [{ name: 'pooled' }],
});
const slowInput = () => ({
  inputs: [{ name: 'input_ids', shape: [SLOW_ROWS, SLOW.seq], datatype: 'INT64', data: Array.from({ length: SLOW_ROWS * SLOW.seq }, (_, i) => (i * 13) % 1000) }],
  outputs: [{ name: 'pooled' }],
});
const del = (id: string) => fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE' });

describe('in-process async jobs', () => {
  test('submit answers 202 with an id and a Location; polling shows the result', async () => {
    const res = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([SETOSA, VERSICOLOR, VIRGINICA]) });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as JobView;
    assert.match(accepted.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('location'), `/api/jobs/${accepted.id}`);
    assert.equal(accepted.service, 'iris.onnx');
    const job = await waitForJob(server.url, accepted.id, 30_000);
    assert.equal(job.state, 'completed');
    assert.equal(job.status_code, 200);
    assert.equal(job.progress, 100);
    assert.deepEqual(labelsOf(job.result), [0, 1, 2]);
    assert.equal((job.result as KServeResponse).model_name, 'iris.onnx');
  });

  test('the built-in embed service takes {"sentences": [...]}', async () => {
    const accepted = await submitJob(server.url, { service: 'embed', input: { sentences: ['the cat sat on the mat', 'dogs bark'] } });
    const job = await waitForJob(server.url, accepted.id, 60_000);
    assert.equal(job.state, 'completed', job.error ?? '');
    const sync = await postJson(`${server.url}/embed`, { sentences: ['the cat sat on the mat', 'dogs bark'] });
    assert.equal(sync.status, 200);
    assert.deepEqual((job.result as { embeddings: number[][] }).embeddings, ((await sync.json()) as { embeddings: number[][] }).embeddings);
  });

  test('queued jobs: 429 past the limit, cancel, 409 for active, events, and priority order', async () => {
    const slow = await submitJob(server.url, { service: 'slow-encoder', input: slowInput() });
    await waitFor('the slow job to start', async () => (await getJob(server.url, slow.id)).job.state === 'active', 10_000, 20);

    // Behind it: two priority-10 jobs, one without priority, then a priority-1 job.
    const a = await submitJob(server.url, { service: 'encoder', input: encoderInput(1), priority: 10 });
    const b = await submitJob(server.url, { service: 'encoder', input: encoderInput(2), priority: 10 });
    const c = await submitJob(server.url, { service: 'encoder', input: encoderInput(3) });
    const p1 = await submitJob(server.url, { service: 'encoder', input: encoderInput(4), priority: 1 });
    for (const j of [a, b, c, p1]) assert.equal(j.state, 'queued', `job ${j.id} waits behind the slow one`);

    const full = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([SETOSA]) });
    assert.equal(full.status, 429);
    assert.equal(full.headers.get('retry-after'), '1');
    const fullBody = (await full.json()) as { error: string; code: string };
    assert.equal(fullBody.code, 'QUEUE_FULL');
    assert.match(fullBody.error, /4 jobs are queued/);

    const busy = await del(slow.id);
    assert.equal(busy.status, 409, 'the running job cannot be cancelled');
    assert.equal(((await busy.json()) as { code: string }).code, 'JOB_NOT_CANCELLABLE');

    const cancelled = await del(c.id);
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as JobView).state, 'cancelled');
    assert.equal((await getJob(server.url, c.id)).job.state, 'cancelled');
    assert.equal((await getJob(server.url, slow.id)).job.state, 'active', 'all this happened while the slow job ran');

    // Follow `a` from queued to completed.
    const seen: SseEvent[] = [];
    const streamed = readJobEvents(server.url, a.id, 60_000, (e) => seen.push(e));
    const all = await waitForJobs(server.url, [slow.id, a.id, b.id, p1.id], 60_000);
    const events = await streamed;
    assert.ok(events.every((e) => e.event === 'state'));
    assert.deepEqual(events.map((e) => e.data.state), ['queued', 'active', 'completed']);
    assert.deepEqual(events.map((e) => e.data.progress), [0, 50, 100]);

    for (const j of all.values()) assert.equal(j.state, 'completed', `job ${j.id}: ${j.error ?? ''}`);
    const pooled = (id: string) => (all.get(id)!.result as KServeResponse).outputs[0]!;
    assert.deepEqual(pooled(slow.id).shape, [SLOW_ROWS, SLOW.hidden]);
    for (const j of [a, b, p1]) assert.deepEqual(pooled(j.id).shape, [64, 64]);
    assert.notDeepEqual(pooled(a.id).data, pooled(b.id).data, 'each job answered its own input');

    // One job at a time, so start times give the order: priority 1 first, then the 10s in submission order.
    const started = (id: string) => Date.parse(all.get(id)!.started_at as string);
    assert.ok(started(slow.id) < started(p1.id));
    assert.ok(started(p1.id) < started(a.id), 'the priority-1 job ran before the priority-10 ones');
    assert.ok(started(a.id) < started(b.id), 'equal priorities run in submission order');

    await sleep(100);
    assert.equal((await getJob(server.url, c.id)).job.state, 'cancelled', 'the cancelled job never ran');
    const again = await del(a.id);
    assert.equal(again.status, 409, 'a completed job cannot be cancelled');
  });

  test('unknown job id: GET, DELETE and events answer 404', async () => {
    const id = '00000000-0000-0000-0000-000000000000';
    for (const res of [await fetch(`${server.url}/api/jobs/${id}`), await del(id), await fetch(`${server.url}/api/jobs/${id}/events`)]) {
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { code: string }).code, 'JOB_NOT_FOUND');
    }
  });

  test('an unknown service is 404 at submission, not a failed job later', async () => {
    const res = await postJson(`${server.url}/api/jobs`, { service: 'nope', input: {} });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(body.code, 'SERVICE_NOT_FOUND');
    assert.match(body.error, /No service 'nope'/);
  });

  test('malformed job requests are 400', async () => {
    for (const body of [{ input: {} }, { service: 'iris.onnx', input: {}, colour: 'red' }, { service: 'iris.onnx', input: {}, webhook: 'ftp://x' }, { service: 'iris.onnx', input: {}, priority: 0 }]) {
      const res = await postJson(`${server.url}/api/jobs`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
  });

  test('bad input: the job fails with the message the synchronous route gives', async () => {
    const bad = { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    const sync = await postJson(`${server.url}/v2/models/iris.onnx/infer`, bad);
    assert.equal(sync.status, 400);
    const message = ((await sync.json()) as { error: string }).error;
    const job = await waitForJob(server.url, (await submitJob(server.url, { service: 'iris.onnx', input: bad })).id, 30_000);
    assert.equal(job.state, 'failed');
    assert.equal(job.status_code, 400);
    assert.equal(job.error, message);
    assert.equal(job.result, undefined);

    const emptyEmbed = await waitForJob(server.url, (await submitJob(server.url, { service: 'embed', input: { sentences: [] } })).id, 30_000);
    assert.equal(emptyEmbed.state, 'failed');
    assert.equal(emptyEmbed.status_code, 400);
    assert.match(emptyEmbed.error ?? '', /empty/);
  });

  test('webhooks: completed and failed jobs are POSTed; a failing webhook is retried until delivered', async () => {
    const received: Array<{ path: string; attempt: string | undefined; jobHeader: string | undefined; job: JobView }> = [];
    let flakyCalls = 0;
    const hook: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/flaky' && ++flakyCalls <= 2) {
          res.writeHead(500).end();
          return;
        }
        received.push({
          path: req.url ?? '', attempt: req.headers['x-corral-attempt'] as string | undefined,
          jobHeader: req.headers['x-corral-job'] as string | undefined, job: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobView,
        });
        res.writeHead(204).end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const base = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
    try {
      const ok = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([VIRGINICA]), webhook: `${base}/ok` });
      const failed = await submitJob(server.url, { service: 'iris.onnx', input: { inputs: [] }, webhook: `${base}/failed` });
      const flaky = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([SETOSA]), webhook: `${base}/flaky` });
      await waitFor('three webhooks delivered', () => received.length >= 3, 20_000);
      const by = (path: string) => received.find((r) => r.path === path)!;
      assert.equal(by('/ok').job.id, ok.id);
      assert.equal(by('/ok').jobHeader, ok.id);
      assert.equal(by('/ok').job.state, 'completed');
      assert.deepEqual(labelsOf(by('/ok').job.result), [2]);
      assert.equal(by('/failed').job.id, failed.id);
      assert.equal(by('/failed').job.state, 'failed');
      assert.ok(by('/failed').job.error);
      assert.equal(by('/flaky').job.id, flaky.id);
      assert.equal(by('/flaky').job.state, 'completed');
      assert.deepEqual(labelsOf(by('/flaky').job.result), [0]);
      assert.equal(flakyCalls, 3);
      assert.equal(by('/flaky').attempt, '3');
    } finally {
      hook.close();
      hook.closeAllConnections();
    }
  });

  test('GET /metrics counts finished jobs per service and state', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^corral_jobs_total\{service="iris.onnx",state="completed"\} [1-9]\d*$/m);
    assert.match(text, /^corral_jobs_total\{service="iris.onnx",state="failed"\} [1-9]\d*$/m);
    assert.match(text, /^corral_jobs_total\{service="encoder",state="cancelled"\} 1$/m);
  });
});
