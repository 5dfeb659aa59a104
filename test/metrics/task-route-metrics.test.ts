/**
 * Requests to a service's task routes (/keyterms, /embed, /v1/embeddings,
 * /api/services/<id>/predict, /services/<name>/<route>) are counted under the
 * service's name, the label its queue depth and batch sizes carry, so they
 * have per-model series; before, their `model` label was empty and they
 * vanished from GET /api/metrics/series.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

const SAMPLE_MS = 50;
let server: TestServer;

before(async () => {
  server = await startTestServer({ workers: 1, metricsSampleMs: SAMPLE_MS });
});
after(async () => { await server?.close(); });

/** corral_requests_total by `model|api|status`, from GET /metrics. */
async function counted(): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^corral_requests_total\{model="([^"]*)",api="([^"]*)",status="([^"]*)"\} (\S+)$/.exec(line);
    if (m) out.set(`${m[1]}|${m[2]}|${m[3]}`, Number(m[4]));
  }
  return out;
}

describe('request metrics of task routes', () => {
  test('are labelled with the service they went to, named or picked, errors included', async () => {
    const send = async (path: string, body: unknown, status: number) => {
      const res = await postJson(`${server.url}${path}`, body);
      assert.equal(res.status, status, `${path}: ${await res.text()}`);
    };
    const keytermsId = ((await (await fetch(`${server.url}/api/services/keyterms`)).json()) as { id: string }).id;

    await send('/keyterms', { sentences: ['Corral serves machine learning models.'] }, 200); // no service named: the built-in
    await send('/keyterms', { sentences: ['Batching helps throughput.'], service: 'keyterms' }, 200);
    await send(`/api/services/${keytermsId}/predict`, { inputs: 'named by its id' }, 200);
    await send('/api/services/keyterms/predict', { inputs: ['by its name'] }, 200);
    await send('/services/keyterms/keyterms', { sentences: ['through the service proxy'] }, 200);
    await send('/embed', { sentences: ['hello'] }, 200);
    await send('/v1/embeddings', { model: 'embed', input: 'hello' }, 200);
    await send('/embed', { sentences: 5, model: 'embed' }, 400); // a bad request still belongs to its service
    await send('/embed', { sentences: [] }, 400);
    await send('/embed', { sentences: ['x'], model: 'no-such-service' }, 404);

    const expected = new Map([
      ['keyterms|laminoid|200', 3], // two direct, one the proxy forwarded
      ['keyterms|predict|200', 2],
      ['embed|laminoid|200', 1],
      ['embed|openai|200', 1],
      ['embed|laminoid|400', 2],
      ['|laminoid|404', 1], // an unknown service: no label value a client can make up
    ]);
    const seen = await waitFor('the task-route requests counted', async () => {
      const c = await counted();
      return [...expected.keys()].every((k) => c.has(k)) && c;
    });
    for (const [key, n] of expected) assert.equal(seen.get(key), n, key);
    assert.deepEqual([...seen.keys()].filter((k) => k.startsWith('|')), ['|laminoid|404'], 'no other task-route request without a model');

    // ...so they have series, next to the queue depth and batch sizes of the same name.
    const start = Date.now();
    const view = await waitFor('a sample after the requests', async () => {
      const v = await (await fetch(`${server.url}/api/metrics/series?window=15m`)).json() as { t: number[]; series: Record<string, { rps: Array<number | null>; errors: Array<number | null>; queue_depth: Array<number | null>; batch_size: Array<number | null> }> };
      return (v.t.at(-1) ?? 0) > start && v;
    });
    const total = (rates: Array<number | null>) => Math.round(rates.reduce<number>((n, r, i) => n + (i === 0 ? 0 : (r ?? 0) * (view.t[i]! - view.t[i - 1]!) / 1000), 0) * 1e6) / 1e6;
    const keyterms = view.series.keyterms;
    const embed = view.series.embed;
    assert.ok(keyterms && embed, `series: ${Object.keys(view.series).join(', ')}`);
    assert.equal(total(keyterms.rps), 5);
    assert.equal(total(keyterms.errors), 0);
    assert.equal(total(embed.rps), 4);
    assert.equal(total(embed.errors), 2);
    assert.ok(keyterms.batch_size.some((b) => b !== null && b >= 1), `keyterms batch sizes: ${JSON.stringify(keyterms.batch_size)}`);
    assert.equal(keyterms.queue_depth.at(-1), 0);
  });
});
