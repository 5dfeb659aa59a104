/**
 * The retry limits, as README.md and docs/architecture.md state them, with
 * exact counts. Local pool: a request is tried at most max(3, workers + 1)
 * times, then 503 INFERENCE_FAILED. Redis: a job whose `corral worker` dies
 * on every try is started exactly CORRAL_JOB_ATTEMPTS times, then fails with
 * 503 INFERENCE_FAILED. The dying model is test/fixtures/worker-faults.mjs,
 * preloaded into worker processes; every try it starts writes one log line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cleanRedisKeys, irisBody, killAllWorkers, newPrefix, spawnWorker, startScaleOutServer, type WorkerProcess,
} from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FAULTS = fileURLToPath(new URL('../fixtures/worker-faults.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'corral-retry-limit-'));
const LOG = join(dir, 'tries.log');
const tries = () => readFileSync(LOG, 'utf8').split('\n').filter(Boolean).length;

const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, CORRAL_TEST_FAULTS_LOG: process.env.CORRAL_TEST_FAULTS_LOG };
before(() => {
  // Worker processes (and `corral worker` processes) inherit these.
  process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import ${FAULTS}`.trim();
  process.env.CORRAL_TEST_FAULTS_LOG = LOG;
});
after(async () => {
  await killAllWorkers();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function infer(url: string, model: string): Promise<{ status: number; error: string }> {
  const res = await postJson(`${url}/v2/models/${model}/infer`, irisBody([[5.1, 3.5, 1.4, 0.2]]));
  const text = await res.text();
  return { status: res.status, error: (JSON.parse(text) as { error?: string }).error ?? text };
}

for (const workers of [2, 4]) {
  describe(`local pool of ${workers} workers: a model that kills its worker on every run`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ workers });
      for (const name of ['kills-worker.onnx', 'iris.onnx']) {
        const up = await uploadModel(server.url, name, server.models.iris!);
        assert.equal(up.status, 201, await up.text());
      }
    });
    after(async () => server?.close());

    test(`is tried exactly max(3, workers + 1) = ${Math.max(3, workers + 1)} times, then 503 INFERENCE_FAILED`, async () => {
      const expected = Math.max(3, workers + 1);
      writeFileSync(LOG, '');
      const r = await infer(server.url, 'kills-worker.onnx');
      assert.equal(r.status, 503, r.error);
      assert.equal(r.error, `Model 'kills-worker.onnx' crashed its worker ${expected} times; it was not run again.`);
      assert.equal(tries(), expected, 'runs started');
      const rows = (await (await fetch(`${server.url}/api/workers`)).json()) as Array<{ restarts: number }>;
      assert.equal(rows.reduce((n, w) => n + w.restarts, 0), expected, 'worker restarts');
      // The pool survives it: other models still answer.
      assert.equal((await infer(server.url, 'iris.onnx')).status, 200);
    });
  });
}

for (const attempts of [2, 4]) {
  describe(`Redis: CORRAL_JOB_ATTEMPTS=${attempts}, a job whose corral worker dies on every try`, () => {
    const prefix = newPrefix();
    let server: TestServer;
    before(async () => {
      server = await startScaleOutServer({ redisUrl: REDIS_URL, prefix, overrides: { jobAttempts: attempts, workers: 1 } });
      const up = await uploadModel(server.url, 'kills-host.onnx', server.models.iris!);
      assert.equal(up.status, 201, await up.text());
    });
    after(async () => {
      await killAllWorkers();
      await server?.close();
      await cleanRedisKeys(REDIS_URL, prefix);
    });

    test(`is started exactly ${attempts} times, then 503 INFERENCE_FAILED`, async () => {
      writeFileSync(LOG, '');
      let worker: WorkerProcess = await spawnWorker({ redisUrl: REDIS_URL, prefix, gatewayUrl: server.url });
      let answer: { status: number; error: string } | undefined;
      const request = infer(server.url, 'kills-host.onnx').then((r) => { answer = r; });
      // Each try kills its worker; the stalled job waits for the next one. One more worker than
      // tries is needed (it finds the job used up); a bounded number in all.
      let spawned = 1;
      while (!answer && spawned <= attempts + 2) {
        await Promise.race([worker.exited, request]);
        if (answer) break;
        await worker.kill('SIGKILL');
        worker = await spawnWorker({ redisUrl: REDIS_URL, prefix });
        spawned++;
      }
      await request;
      assert.ok(answer, 'the request was answered');
      assert.equal(answer.status, 503, answer.error);
      assert.equal(answer.error, `Model 'kills-host.onnx' was tried ${attempts} times and its worker died or failed each time; it was not run again.`);
      assert.equal(tries(), attempts, 'tries started');
      assert.equal(spawned, attempts + 1, 'workers used: one per try, and one that found the tries used up');
    });
  });
}
