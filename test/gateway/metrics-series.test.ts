/**
 * GET /api/metrics/series against a real Corral: the gateway samples its own
 * Prometheus registry (every 50 ms here) and answers per-model chart series
 * whose values follow from the requests the test sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, createKey } from '../auth/auth-helpers.js';
import { irisBody, waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface ModelSeries { p50_ms: Array<number | null>; p99_ms: Array<number | null>; rps: Array<number | null>; errors: Array<number | null>; queue_depth: Array<number | null>; batch_size: Array<number | null> }
interface SeriesView { window: string; step_ms: number; t: number[]; series: Record<string, ModelSeries> }

const SAMPLE_MS = 50;
let server: TestServer & { adminKey: string };

before(async () => {
  server = await startTestServer({ workers: 1, metricsSampleMs: SAMPLE_MS }, { CORRAL_AUTH: 'on' }) as TestServer & { adminKey: string };
  for (const name of ['iris.onnx', 'other.onnx']) {
    const res = await uploadModel(server.url, name, server.models.iris!, server.adminKey);
    assert.equal(res.status, 201, await res.text());
  }
});
after(async () => { await server?.close(); });

async function series(query: string, key = server.adminKey): Promise<SeriesView> {
  const res = await fetch(`${server.url}/api/metrics/series${query}`, { headers: bearer(key) });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json() as Promise<SeriesView>;
}

/** corral_requests_total of a model, summed over API and status, from GET /metrics. */
async function requestsCounted(model: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: bearer(server.adminKey) })).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^corral_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (m && m[1]!.includes(`model="${model}"`)) total += Number(m[2]);
  }
  return total;
}

/**
 * Waits until the registry has counted `count` requests of `model` and the
 * sampler has taken a sample after that, then returns the series.
 */
async function seriesAfter(model: string, count: number, query = '?window=15m'): Promise<SeriesView> {
  await waitFor(`GET /metrics to count ${count} requests of ${model}`, async () => {
    const seen = await requestsCounted(model);
    if (seen !== count) throw new Error(`counted ${seen}`);
    return true;
  });
  const counted = Date.now();
  return waitFor(`a sample taken after ${counted}`, async () => {
    const view = await series(query);
    if ((view.t.at(-1) ?? 0) <= counted) throw new Error(`last sample at ${view.t.at(-1)}`);
    return view;
  });
}

/** Requests (or errors) over the whole window: each rate times the interval it covers. */
function total(view: SeriesView, rates: Array<number | null>): number {
  let n = 0;
  for (let i = 1; i < view.t.length; i++) n += (rates[i] ?? 0) * (view.t[i]! - view.t[i - 1]!) / 1000;
  return Math.round(n * 1e6) / 1e6;
}

describe('GET /api/metrics/series', () => {
  test('rates, errors, latency quantiles, batch sizes and queue depth follow the requests sent', async () => {
    const infer = (body: unknown) => postJson(`${server.url}/v2/models/iris.onnx/infer`, body, 'POST', server.adminKey);
    for (let i = 0; i < 5; i++) {
      const res = await infer(irisBody([[5.1, 3.5, 1.4, 0.2]]));
      assert.equal(res.status, 200, await res.text());
    }
    for (let i = 0; i < 2; i++) {
      const res = await infer({ inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
      assert.equal(res.status, 400, await res.text());
    }

    const view = await seriesAfter('iris.onnx', 7);
    assert.equal(view.window, '15m');
    assert.equal(view.step_ms, SAMPLE_MS);
    assert.ok(view.t.every((t, i) => i === 0 || t > view.t[i - 1]!), 'timestamps increase');
    const iris = view.series['iris.onnx'];
    assert.ok(iris, `series for iris.onnx: ${Object.keys(view.series).join(', ')}`);
    for (const [field, values] of Object.entries(iris)) assert.equal(values.length, view.t.length, `${field} has one value per timestamp`);

    // The first sample is the baseline, taken before any request: no data there.
    assert.equal(iris.rps[0], null);
    assert.equal(iris.p50_ms[0], null);
    assert.equal(total(view, iris.rps), 7);
    assert.equal(total(view, iris.errors), 2);

    for (let i = 0; i < view.t.length; i++) {
      const rps = iris.rps[i];
      assert.equal(iris.p50_ms[i] !== null, rps !== null && rps > 0, `sample ${i}: latency exactly where there were requests (rps ${rps}, p50 ${iris.p50_ms[i]})`);
      assert.equal(iris.p99_ms[i] !== null, iris.p50_ms[i] !== null, `sample ${i}: p99 where p50`);
      if (iris.p50_ms[i] !== null) {
        assert.ok(iris.p50_ms[i]! > 0 && iris.p50_ms[i]! <= iris.p99_ms[i]! && iris.p99_ms[i]! <= 10_000, `sample ${i}: 0 < p50 ${iris.p50_ms[i]} <= p99 ${iris.p99_ms[i]} <= the largest bucket`);
      }
    }
    // Five one-row requests, one at a time: every batch that ran had one row; the bad ones never reached a batch.
    const batches = iris.batch_size.filter((b) => b !== null);
    assert.ok(batches.length >= 1 && batches.length <= 5, `batch sizes: ${JSON.stringify(iris.batch_size)}`);
    assert.deepEqual([...new Set(batches)], [1]);
    assert.equal(iris.queue_depth.at(-1), 0);

    // Nothing was sent to other.onnx, and requests without a model label have no series.
    assert.equal(view.series['other.onnx'], undefined);
    assert.equal(view.series[''], undefined);

    const hour = await series('?window=1h');
    assert.equal(hour.window, '1h');
    assert.ok(hour.t[0]! <= view.t[0]!, 'the hour starts no later than the quarter');
    assert.equal(total(hour, hour.series['iris.onnx']!.rps), 7);
  });

  test('a key limited to iris* sees only those models; the admin sees all', async () => {
    const res = await postJson(`${server.url}/v2/models/other.onnx/infer`, irisBody([[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]), 'POST', server.adminKey);
    assert.equal(res.status, 200, await res.text());
    const admin = await seriesAfter('other.onnx', 1);
    assert.deepEqual(Object.keys(admin.series), ['iris.onnx', 'other.onnx']);
    assert.equal(total(admin, admin.series['other.onnx']!.rps), 1);
    assert.deepEqual([...new Set(admin.series['other.onnx']!.batch_size.filter((b) => b !== null))], [2]);

    const limited = await createKey(server.url, server.adminKey, { name: 'iris-watcher', scopes: ['metrics'], models: ['iris*'] });
    const view = await series('', limited.key);
    assert.equal(view.window, '15m', 'the default window');
    assert.deepEqual(Object.keys(view.series), ['iris.onnx']);
  });

  test('a window other than 15m or 1h is 400 with a message naming the choices', async () => {
    for (const window of ['2h', '', '15M']) {
      const res = await fetch(`${server.url}/api/metrics/series?window=${window}`, { headers: bearer(server.adminKey) });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { code: 'BAD_REQUEST', error: `window must be one of 15m, 1h; got '${window}'.` });
    }
  });

  test('the sampler runs while the gateway does and stops when it closes', async () => {
    const other = await startTestServer({ workers: 1, metricsSampleMs: SAMPLE_MS });
    try {
      assert.equal(other.app.metricsSampler.running, true);
    } finally {
      await other.close();
    }
    assert.equal(other.app.metricsSampler.running, false);
  });
});
