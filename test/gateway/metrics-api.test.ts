// GET /metrics against a real Corral: Prometheus text with request, batch and
// worker metrics after real requests through both APIs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../helpers/scale-out.js';
import { getWithJsonBody, postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const VERSICOLOR = [5.9, 3.0, 4.2, 1.5];

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Exposition { text: string; types: Map<string, string>; help: Map<string, string>; samples: Sample[] }

let server: TestServer;
const url = (path: string) => `${server.url}${path}`;

before(async () => {
  server = await startTestServer();
  const res = await uploadModel(server.url, 'iris.onnx', server.models.iris!);
  assert.equal(res.status, 201, await res.text());
});
after(async () => { await server.close(); });

/** Parses the Prometheus text exposition format (0.0.4). */
function parse(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'TYPE' ? types : help).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const raw = m[3]!;
    samples.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return { text, types, help, samples };
}

async function scrape(): Promise<Exposition> {
  const res = await fetch(url('/metrics'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const matches = (s: Sample, want: Record<string, string>) => Object.entries(want).every(([k, v]) => s.labels[k] === v);

/** The one sample of `name` whose labels include `labels`; undefined when there is none. */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && matches(s, labels));
  assert.ok(found.length <= 1, `${name}${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

function series(e: Exposition, name: string): Sample[] {
  return e.samples.filter((s) => s.name === name);
}

async function expectStatus(res: Promise<Response | { status: number }>, status: number): Promise<void> {
  assert.equal((await res).status, status);
}

/** Sends a known mix of requests, one after another so none share a batch. */
async function sendTraffic(): Promise<void> {
  const predict = url('/api/v1/models/iris.onnx/prediction');
  await expectStatus(postJson(predict, { values: SETOSA }), 200);                                   // 1 row
  await expectStatus(getWithJsonBody(predict, { values: [SETOSA, VIRGINICA] }), 200);               // 2 rows
  await expectStatus(postJson(predict, { values: [...SETOSA, ...VIRGINICA, ...VERSICOLOR] }), 200);  // 3 rows
  await expectStatus(postJson(predict, { values: [1, 2, 3] }), 400);
  await expectStatus(postJson(url('/api/v1/models/ghost.onnx/prediction'), { values: SETOSA }), 404);
  const infer = url('/v2/models/iris.onnx/infer');
  await expectStatus(postJson(infer, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: VIRGINICA }] }), 200); // 1 row
  await expectStatus(postJson(infer, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2] }] }), 400);
  // Management and health routes are not request-counted.
  await expectStatus(fetch(url('/api/v1/models')), 200);
  await expectStatus(fetch(url('/api/v1/models/iris.onnx')), 200);
  await expectStatus(fetch(url('/v2/health/ready')), 200);
}

test('requests are counted and timed by model, API and status', async () => {
  await sendTraffic();
  const e = await scrape();

  assert.equal(e.types.get('corral_requests_total'), 'counter');
  assert.ok(e.help.get('corral_requests_total'));
  const expected = [
    [{ model: 'iris.onnx', api: 'mlbuffet', status: '200' }, 3],
    [{ model: 'iris.onnx', api: 'mlbuffet', status: '400' }, 1],
    [{ model: 'ghost.onnx', api: 'mlbuffet', status: '404' }, 1],
    [{ model: 'iris.onnx', api: 'kserve', status: '200' }, 1],
    [{ model: 'iris.onnx', api: 'kserve', status: '400' }, 1],
  ] as const;
  for (const [labels, count] of expected) {
    assert.equal(value(e, 'corral_requests_total', labels), count, `corral_requests_total${JSON.stringify(labels)}`);
  }
  // Exactly these series: routes without an API label (listing, health, /metrics) are not counted.
  const counted = series(e, 'corral_requests_total');
  assert.equal(counted.length, expected.length, JSON.stringify(counted));
  for (const s of counted) assert.deepEqual(Object.keys(s.labels).sort(), ['api', 'model', 'status']);

  assert.equal(e.types.get('corral_request_duration_seconds'), 'histogram');
  for (const [labels, count] of expected) {
    assert.equal(value(e, 'corral_request_duration_seconds_count', labels), count);
    assert.equal(value(e, 'corral_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), count);
    const total = value(e, 'corral_request_duration_seconds_sum', labels)!;
    assert.ok(total > 0 && Number.isFinite(total), `duration sum ${total}`);
    // Buckets are cumulative.
    const buckets = series(e, 'corral_request_duration_seconds_bucket').filter((s) => matches(s, labels));
    assert.deepEqual(buckets.map((b) => b.labels.le), ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
  }
});

test('batch sizes and inference time are recorded per model', async () => {
  const e = await scrape();
  assert.equal(e.types.get('corral_batch_size'), 'histogram');
  // Four successful inferences of 1, 2, 3 and 1 rows, sent one at a time.
  assert.equal(value(e, 'corral_batch_size_count', { model: 'iris.onnx' }), 4);
  assert.equal(value(e, 'corral_batch_size_sum', { model: 'iris.onnx' }), 7);
  assert.equal(value(e, 'corral_batch_size_bucket', { model: 'iris.onnx', le: '1' }), 2);
  assert.equal(value(e, 'corral_batch_size_bucket', { model: 'iris.onnx', le: '2' }), 3);
  assert.equal(value(e, 'corral_batch_size_bucket', { model: 'iris.onnx', le: '4' }), 4);
  assert.equal(value(e, 'corral_batch_size_count', { model: 'ghost.onnx' }), undefined, 'failed lookups never reach a batcher');

  assert.equal(e.types.get('corral_inference_duration_seconds'), 'histogram');
  assert.equal(value(e, 'corral_inference_duration_seconds_count', { model: 'iris.onnx' }), 4);
  assert.ok(value(e, 'corral_inference_duration_seconds_sum', { model: 'iris.onnx' })! > 0);
  assert.equal(value(e, 'corral_queue_depth', { model: 'iris.onnx' }), 0, 'nothing is queued once all requests have answered');
});

test('counters only go up: a further request adds exactly one', async () => {
  const labels = { model: 'iris.onnx', api: 'kserve', status: '200' };
  const beforeCount = value(await scrape(), 'corral_requests_total', labels)!;
  const res = await postJson(url('/v2/models/iris.onnx/infer'), { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: SETOSA }] });
  assert.equal(res.status, 200);
  const e = await scrape();
  assert.equal(value(e, 'corral_requests_total', labels), beforeCount + 1);
  assert.equal(value(e, 'corral_request_duration_seconds_count', labels), beforeCount + 1);
  assert.equal(value(e, 'corral_batch_size_count', { model: 'iris.onnx' }), 5);
  assert.equal(value(e, 'corral_batch_size_sum', { model: 'iris.onnx' }), 8);
});

test('worker metrics: readiness, restarts and resident memory of each worker', async () => {
  // Workers report their memory every 2 s.
  const e = await waitFor('the memory of both workers', async () => {
    const scraped = await scrape();
    const reported = series(scraped, 'corral_worker_rss_bytes');
    if (reported.length === 2) return scraped;
    throw new Error(`corral_worker_rss_bytes series: ${JSON.stringify(reported)}`);
  }, 10_000, 250);

  assert.equal(e.types.get('corral_workers_ready'), 'gauge');
  assert.equal(value(e, 'corral_workers_ready'), 2);

  assert.equal(e.types.get('corral_worker_restarts_total'), 'counter');
  assert.equal(value(e, 'corral_worker_restarts_total'), 0);

  assert.equal(e.types.get('corral_worker_rss_bytes'), 'gauge');
  const rss = series(e, 'corral_worker_rss_bytes');
  assert.deepEqual(rss.map((s) => s.labels.worker).sort(), ['worker-0', 'worker-1']);
  for (const s of rss) {
    // A Node process with onnxruntime loaded is well over 10 MB and under 64 GB.
    assert.ok(s.value > 10 * 1024 * 1024 && s.value < 64 * 1024 ** 3, `${s.labels.worker} rss ${s.value}`);
  }
});

test('gateway process metrics are exposed with the corral_gateway_ prefix', async () => {
  const e = await scrape();
  const rss = value(e, 'corral_gateway_process_resident_memory_bytes');
  assert.ok(rss !== undefined && rss > 0);
  assert.equal(series(e, 'corral_gateway_nodejs_heap_size_used_bytes').length, 1);
  // Every sample line parsed and every metric family has a TYPE.
  for (const s of e.samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(e.types.has(s.name) || e.types.has(family), `no TYPE for ${s.name}`);
  }
});

test('GET /metrics itself is not counted as a model request', async () => {
  const before = await scrape();
  await scrape();
  const after = await scrape();
  assert.deepEqual(series(after, 'corral_requests_total'), series(before, 'corral_requests_total'));
});
