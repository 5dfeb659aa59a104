// Nothing assumes localhost: Redis on 127.0.0.3, the gateway on 127.0.0.2, a
// worker process pointed at redis://127.0.0.3:<port>. A prediction and a job
// go through, and the queue lives on that Redis server only.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  cleanRedisKeys, countRedisKeys, irisBody, killAllWorkers, labelsOf, listWorkers, newPrefix, spawnWorker, startRedisServer,
  startScaleOutServer, submitJob, waitFor, waitForJob, type RedisServer,
} from '../helpers/scale-out.js';
import { postJson, uploadModel, type TestServer } from '../helpers/test-server.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
const prefix = newPrefix();
let redisServer: RedisServer;
let server: TestServer;

before(async () => {
  redisServer = await startRedisServer('127.0.0.3');
  server = await startScaleOutServer({ redisUrl: redisServer.url, prefix, overrides: { host: '127.0.0.2' } });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
});

after(async () => {
  await killAllWorkers('SIGTERM');
  await server?.close();
  await redisServer?.destroy();
  await cleanRedisKeys(DEFAULT_REDIS, prefix);
});

test('gateway on 127.0.0.2, Redis on 127.0.0.3, a worker process: prediction and job succeed', async () => {
  assert.equal(new URL(server.url).hostname, '127.0.0.2');
  assert.equal(redisServer.url.startsWith('redis://127.0.0.3:'), true);
  const worker = await spawnWorker({ redisUrl: redisServer.url, prefix, gatewayUrl: server.url, id: 'loopback-w1' });
  const [listed] = await listWorkers(server.url);
  assert.equal(listed?.id, 'loopback-w1');

  const res = await postJson(`${server.url}/v2/models/iris.onnx/infer`, irisBody([SETOSA, VIRGINICA]));
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(labelsOf(await res.json()), [0, 2]);

  const accepted = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([VIRGINICA]) });
  const job = await waitForJob(server.url, accepted.id, 30_000);
  assert.equal(job.state, 'completed', job.error ?? '');
  assert.deepEqual(labelsOf(job.result), [2]);

  // The work went through the Redis server on 127.0.0.3, and nothing touched the default one.
  assert.ok(await countRedisKeys(redisServer.url, prefix) > 0);
  assert.equal(await countRedisKeys(DEFAULT_REDIS, prefix), 0);
  const direct = new Redis(redisServer.url);
  try {
    assert.equal(await direct.sismember(`${prefix}:services`, 'iris.onnx'), 1);
    assert.ok(await direct.exists(`${prefix}:workers:loopback-w1`));
    // SIGTERM: the worker finishes, removes its heartbeat (it leaves the list at once) and exits 0.
    await worker.kill('SIGTERM');
    assert.equal(worker.child.exitCode, 0, worker.stderr());
    assert.equal(await direct.exists(`${prefix}:workers:loopback-w1`), 0);
    await waitFor('the stopped worker to leave /api/workers', async () => (await listWorkers(server.url)).length === 0, 5_000);
  } finally {
    direct.disconnect();
  }
});
