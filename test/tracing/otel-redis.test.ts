/**
 * OpenTelemetry across Redis: a request to a gateway in scale-out mode is run
 * by a `corral worker` (another process, and its model process under it). Its
 * spans still form one tree: the caller's span → the gateway's server span →
 * queue and batch spans → the compute span made in the corral worker's model
 * process, whose parent came in the job's data.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { cleanRedisKeys, irisBody, newPrefix, startScaleOutServer, waitFor, waitForWorker } from '../helpers/scale-out.js';
import { uploadModel, type TestServer } from '../helpers/test-server.js';
import { saveOtelEnv, startOtlpReceiver } from './otlp-receiver.js';
import { SETOSA } from './tracing-helpers.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const prefix = newPrefix();
const workerHome = mkdtempSync(join(tmpdir(), 'corral-otel-worker-'));
after(async () => {
  rmSync(workerHome, { recursive: true, force: true });
  await cleanRedisKeys(REDIS_URL, prefix);
});

test('one request\'s spans form one tree across the gateway, Redis and a corral worker', async () => {
  const receiver = await startOtlpReceiver();
  const restoreEnv = saveOtelEnv();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  let server: TestServer | undefined;
  let worker: ChildProcess | undefined;
  const callerTrace = '5bf92f3577b34da6a3ce929d0e0e4737';
  const callerSpan = '10f067aa0ba902b8';
  try {
    server = await startScaleOutServer({ redisUrl: REDIS_URL, prefix });
    worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--redis', REDIS_URL, '--id', 'otel-worker'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CORRAL_HOME: workerHome, CORRAL_QUEUE_PREFIX: prefix, CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_REDIS_URL: '' },
      stdio: 'ignore',
    });
    await waitForWorker(server.url, 'otel-worker');
    const up = await uploadModel(server.url, 'iris', server.models.iris!);
    assert.equal(up.status, 201, await up.text());
    const res = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01` }, body: JSON.stringify(irisBody([SETOSA])),
    });
    assert.equal(res.status, 200, await res.text());
  } finally {
    // Stopping flushes: the corral worker's model process exports as it stops, then the gateway.
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    await server?.close();
    restoreEnv();
  }

  try {
    const spans = await waitFor('the four spans of the request', () => {
      const got = receiver.received.filter((r) => r.span.traceId === callerTrace);
      return ['corral.queue', 'corral.batch', 'corral.compute'].every((n) => got.some((r) => r.span.name === n)) && got.some((r) => r.span.kind === 2) && got;
    }, 20_000, 50);
    assert.deepEqual(spans.map((r) => r.span.name).sort(), ['POST /v2/models/:name/infer', 'corral.batch', 'corral.compute', 'corral.queue']);
    const named = (name: string) => spans.find((r) => r.span.name === name)!;
    const root = named('POST /v2/models/:name/infer');
    const batch = named('corral.batch');
    const compute = named('corral.compute');
    assert.equal(root.span.parentSpanId, callerSpan);
    assert.equal(named('corral.queue').span.parentSpanId, root.span.spanId);
    assert.equal(batch.span.parentSpanId, root.span.spanId);
    assert.equal(root.resource['process.pid'], process.pid);
    // Made in another process, under the batch span whose traceparent travelled in the job.
    assert.equal(compute.span.parentSpanId, batch.span.spanId);
    assert.equal(compute.resource['service.name'], 'corral-worker');
    assert.notEqual(compute.resource['process.pid'], process.pid);
    assert.notEqual(compute.resource['process.pid'], worker!.pid, 'the corral worker runs models in a process of its own');
    assert.equal(compute.attrs['corral.model'], 'iris');
  } finally {
    await receiver.close();
  }
});
