/**
 * Request ids and compute time across Redis: the batch's job data carries its
 * requests' ids to a `corral worker` (another process), whose log lines and
 * whose model process's lines name them; the worker's compute time comes back
 * in the job's result, into Server-Timing and corral_compute_seconds.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { cleanRedisKeys, irisBody, newPrefix, startScaleOutServer, waitFor, waitForWorker } from '../helpers/scale-out.js';
import { uploadModel, type TestServer } from '../helpers/test-server.js';
import { metric, parseServerTiming, SETOSA } from './tracing-helpers.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const prefix = newPrefix();
let server: TestServer;
let worker: ChildProcess;
let workerHome: string;
let workerOut = '';

before(async () => {
  server = await startScaleOutServer({ redisUrl: REDIS_URL, prefix });
  workerHome = mkdtempSync(join(tmpdir(), 'corral-worker-'));
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--redis', REDIS_URL, '--id', 'traced-worker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, CORRAL_HOME: workerHome, CORRAL_QUEUE_PREFIX: prefix, CORRAL_LOG_LEVEL: 'debug', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (c: Buffer) => { workerOut += c.toString('utf8'); });
  worker.stderr!.on('data', (c: Buffer) => { workerOut += c.toString('utf8'); });
  await waitForWorker(server.url, 'traced-worker');
  const up = await uploadModel(server.url, 'iris', server.models.iris!);
  assert.equal(up.status, 201, await up.text());
});
after(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await server?.close();
  if (workerHome) rmSync(workerHome, { recursive: true, force: true });
  await cleanRedisKeys(REDIS_URL, prefix);
});

/** The corral worker's lines (its own and its model process's) that name `id`. */
const linesNaming = (id: string) => workerOut.split('\n').flatMap((l) => {
  try {
    const line = JSON.parse(l) as { msg?: string; reqIds?: string[]; name?: string; computeMs?: number };
    return line.reqIds?.includes(id) ? [line] : [];
  } catch {
    return [];
  }
});

test('a request through Redis: its id in the corral worker\'s lines, its compute in Server-Timing', async () => {
  const computed = await metric(server.url, 'corral_compute_seconds_count{model="iris"}');
  const res = await fetch(`${server.url}/v2/models/iris/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'via-redis-1' }, body: JSON.stringify(irisBody([SETOSA])),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-request-id'), 'via-redis-1');
  const timing = parseServerTiming(res.headers.get('server-timing'));
  assert.equal(timing.batchRows, 1);
  assert.ok(timing.total + 0.003 >= timing.queue + timing.compute, JSON.stringify(timing));
  assert.equal(await metric(server.url, 'corral_compute_seconds_count{model="iris"}'), computed + 1);
  const lines = await waitFor('the worker\'s lines naming the request', () => {
    const found = linesNaming('via-redis-1');
    return found.some((l) => l.msg === 'ran batch' && l.name === 'corral-worker' && l.computeMs !== undefined && !('worker' in l)) && found.length >= 3 ? found : undefined;
  }, 20_000, 50);
  assert.deepEqual(lines.map((l) => l.msg).sort(), ['ran batch', 'ran batch', 'running batch']);
});
