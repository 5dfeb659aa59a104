/**
 * OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, one inference's spans
 * reach a local OTLP/HTTP receiver as one tree (the caller's span → the
 * gateway's server span → queue and batch spans → the worker process's compute
 * span); with it unset nothing is sent and the SDK is never loaded.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { otelSdkLoaded, tracing } from '../../src/tracing/index.js';
import { irisBody, waitFor } from '../helpers/scale-out.js';
import { startTestServer, uploadModel } from '../helpers/test-server.js';
import { OTEL_VARS, saveOtelEnv, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';
import { SETOSA } from './tracing-helpers.js';

/** The local OTLP/HTTP receiver: every request it got, and the spans of those to /v1/traces. */
let receiver: OtlpReceiver;
let endpoint: string;
let requests: OtlpReceiver['requests'];
let received: OtlpReceiver['received'];
const restoreEnv = saveOtelEnv();

before(async () => {
  receiver = await startOtlpReceiver();
  ({ endpoint, requests, received } = receiver);
  for (const k of OTEL_VARS) delete process.env[k];
});
after(async () => {
  restoreEnv();
  await receiver.close();
});

const sdkInRequireCache = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('@opentelemetry/sdk-node'));

async function inferIris(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(`${url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(irisBody([SETOSA, SETOSA])) });
  assert.equal(res.status, 200, await res.text());
}

// First, while nothing in this process has started OpenTelemetry.
test('with OTEL_EXPORTER_OTLP_ENDPOINT unset, nothing is sent and the SDK is not loaded', async () => {
  const server = await startTestServer({ workers: 1 });
  try {
    assert.equal(tracing.otel, null);
    const up = await uploadModel(server.url, 'iris', server.models.iris!);
    assert.equal(up.status, 201, await up.text());
    await inferIris(server.url, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  } finally {
    await server.close();
  }
  assert.equal(otelSdkLoaded(), false);
  assert.equal(sdkInRequireCache(), false, '@opentelemetry/sdk-node was loaded with tracing off');
  assert.deepEqual(requests, []);
});

test('one request\'s spans form one tree across the gateway and a worker process', async () => {
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  let workerPids: number[];
  let port: number;
  try {
    // Workers are forked now and inherit the variables.
    const server = await startTestServer({ workers: 1 });
    try {
      assert.notEqual(tracing.otel, null);
      assert.equal(sdkInRequireCache(), true, 'the check above would not see the SDK');
      port = Number(new URL(server.url).port);
      const up = await uploadModel(server.url, 'iris', server.models.iris!);
      assert.equal(up.status, 201, await up.text());
      await inferIris(server.url, { traceparent: `00-${callerTrace}-${callerSpan}-01` });
      workerPids = server.corral.dispatcher.workers().map((w) => w.pid).filter((p): p is number => p !== undefined);
      assert.equal(workerPids.length, 1);
    } finally {
      // Flushes: the worker exports its spans as it stops, then the gateway.
      await server.close();
    }
  } finally {
    restoreEnv();
  }
  assert.equal(tracing.otel, null);

  const inTrace = () => received.filter((r) => r.span.traceId === callerTrace);
  const spans = await waitFor('the four spans of the request', () => {
    const got = inTrace();
    return ['corral.queue', 'corral.batch', 'corral.compute'].every((n) => got.some((r) => r.span.name === n)) && got.some((r) => r.span.kind === 2) && got;
  }, 15_000, 50);
  // The exporter honoured OTEL_EXPORTER_OTLP_PROTOCOL: JSON to /v1/traces, and nothing else was sent.
  assert.ok(requests.length > 0);
  for (const r of requests) assert.deepEqual([r.method, r.url, r.contentType.split(';')[0]], ['POST', '/v1/traces', 'application/json']);

  const byName = (name: string) => {
    const found = spans.filter((r) => r.span.name === name);
    assert.equal(found.length, 1, `one ${name} span: ${JSON.stringify(spans.map((r) => r.span.name))}`);
    return found[0]!;
  };
  const server = spans.filter((r) => r.span.kind === 2);
  assert.equal(server.length, 1);
  const root = server[0]!;
  const queue = byName('corral.queue');
  const batch = byName('corral.batch');
  const compute = byName('corral.compute');
  assert.equal(spans.length, 4, JSON.stringify(spans.map((r) => r.span.name)));

  // The server span: a child of the caller's, with the standard HTTP attributes.
  assert.equal(root.span.parentSpanId, callerSpan);
  assert.equal(root.span.name, 'POST /v2/models/:name/infer');
  assert.equal(root.attrs['http.request.method'], 'POST');
  assert.equal(root.attrs['url.path'], '/v2/models/iris/infer');
  assert.equal(root.attrs['http.route'], '/v2/models/:name/infer');
  assert.equal(root.attrs['http.response.status_code'], 200);
  assert.equal(root.attrs['server.address'], '127.0.0.1');
  assert.equal(root.attrs['server.port'], port!);
  assert.equal(root.resource['service.name'], 'corral-gateway');
  assert.equal(root.resource['process.pid'], process.pid);

  // Queue wait and the batch: the server span's children, in the gateway.
  assert.equal(queue.span.parentSpanId, root.span.spanId);
  assert.equal(queue.attrs['corral.model'], 'iris');
  assert.equal(batch.span.parentSpanId, root.span.spanId);
  assert.equal(batch.attrs['corral.model'], 'iris');
  assert.equal(batch.attrs['corral.batch.rows'], 2);
  assert.equal(batch.resource['service.name'], 'corral-gateway');

  // The compute span: made in the worker process, a child of the batch span through the IPC traceparent.
  assert.equal(compute.span.parentSpanId, batch.span.spanId);
  assert.equal(compute.resource['service.name'], 'corral-worker');
  assert.notEqual(compute.resource['process.pid'], process.pid);
  assert.deepEqual([compute.resource['process.pid']], workerPids!);
  assert.equal(compute.attrs['corral.model'], 'iris');
  // The request's id (here the caller's trace id) goes with the batch to the worker.
  assert.deepEqual(compute.attrs['corral.request_ids'], [callerTrace]);

  // One tree: every span's parent is in it, except the root's, which is the caller's.
  const ids = new Set(spans.map((r) => r.span.spanId));
  assert.equal(ids.size, 4);
  for (const r of spans) if (r !== root) assert.ok(ids.has(r.span.parentSpanId ?? ''), `${r.span.name}'s parent is in the tree`);
});
