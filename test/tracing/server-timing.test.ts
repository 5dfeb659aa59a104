/**
 * Server-Timing on inference responses (queue wait, the batch's rows, the
 * worker's compute, total) on every API that runs a model, a trailer on streamed
 * answers, and the same split in the corral_queue_wait_seconds and
 * corral_compute_seconds histograms, with exact counts.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { irisBody } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { HELD_ROW, HoldGate, metric, metricReaches, parseServerTiming, SETOSA, type ServerTiming } from './tracing-helpers.js';

let server: TestServer;
let gate: HoldGate;

before(async () => {
  gate = await HoldGate.open();
  server = await startTestServer({ workers: 1 });
  gate.restoreEnv();
  const up = await uploadModel(server.url, 'iris', server.models.iris!);
  assert.equal(up.status, 201, await up.text());
  for (const body of [
    { name: 'bert', task: 'feature-extraction', model: writeTinyBert(join(server.home, 'models', 'bert'), { task: 'feature-extraction' }) },
    { name: 'gpt2', task: 'text-generation', model: writeTinyGpt2(join(server.home, 'models', 'gpt2')) },
  ]) {
    const res = await postJson(`${server.url}/api/services?wait=true`, body);
    assert.equal(res.status, 201, await res.text());
  }
});
after(async () => {
  await server?.close();
  await gate?.close();
});

/** Checks a response's Server-Timing is whole and consistent; returns it. */
function timingOf(res: Response | { headers: Headers }, rows: number): ServerTiming {
  const t = parseServerTiming(res.headers.get('server-timing'));
  assert.equal(t.batchRows, rows, 'the batch it rode in');
  assert.ok(t.queue >= 0 && t.compute >= 0, JSON.stringify(t));
  // Each figure is rounded to 1 µs on its own, so allow that much per term.
  assert.ok(t.total + 0.003 >= t.queue + t.compute, `total ${t.total} < queue ${t.queue} + compute ${t.compute}`);
  return t;
}

const infer = (rows: number[][]) => postJson(`${server.url}/v2/models/iris/infer`, irisBody(rows));
const series = (name: string, model: string) => `${name}{model="${model}"}`;

describe('Server-Timing and the histograms', () => {
  test('requests that ride together: each names the whole batch; counts are exact', async () => {
    const before = {
      queue: await metric(server.url, series('corral_queue_wait_seconds_count', 'iris')),
      compute: await metric(server.url, series('corral_compute_seconds_count', 'iris')),
    };
    // One worker, held busy by the first request: the next three (1, 2 and 1 rows) queue and leave as one batch of 4 rows.
    const holder = infer([HELD_ROW]);
    await gate.held();
    const riders = [infer([SETOSA]), infer([SETOSA, SETOSA]), infer([SETOSA])];
    await metricReaches(server.url, series('corral_queue_depth', 'iris'), 4);
    gate.release();
    const held = await holder;
    assert.equal(held.status, 200);
    const heldTiming = timingOf(held, 1);
    const answers = await Promise.all(riders);
    const timings = answers.map((res) => {
      assert.equal(res.status, 200);
      return timingOf(res, 4);
    });
    // The riders share one batch, so one compute; they waited at least as long as the holder computed.
    assert.equal(new Set(timings.map((t) => t.compute)).size, 1, 'one batch, one compute figure');
    assert.ok(heldTiming.compute > 0);
    assert.equal(await metric(server.url, series('corral_queue_wait_seconds_count', 'iris')), before.queue + 4, 'one queue wait per request');
    assert.equal(await metric(server.url, series('corral_compute_seconds_count', 'iris')), before.compute + 2, 'one compute per batch');
  });

  test('the histograms are declared once each, with their help', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['corral_queue_wait_seconds', 'corral_compute_seconds']) {
      assert.equal(text.split('\n').filter((l) => l === `# TYPE ${name} histogram`).length, 1, name);
    }
    assert.match(text, /# TYPE corral_requests_abandoned_total counter/);
  });

  test('MLBuffet prediction', async () => {
    const res = await postJson(`${server.url}/api/v1/models/iris/prediction`, { values: [SETOSA, SETOSA] });
    assert.equal(res.status, 200, await res.clone().text());
    timingOf(res, 2);
  });

  test('the task routes: /embed, /v1/embeddings, predict, /keyterms, chat completions', async () => {
    // [route, body, rows of its batch (texts, or one generation), the service it runs on]
    const calls: Array<[string, unknown, number, string]> = [
      ['/embed', { sentences: ['one', 'two', 'three'], model: 'bert' }, 3, 'bert'],
      ['/v1/embeddings', { input: ['one', 'two'], model: 'bert' }, 2, 'bert'],
      ['/api/services/bert/predict', { inputs: 'one' }, 1, 'bert'],
      ['/keyterms', { sentences: ['Corral serves models on workers.', 'Batches ride together.'] }, 2, 'keyterms'],
      ['/v1/chat/completions', { model: 'gpt2', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3 }, 1, 'gpt2'],
      ['/generate', { inputs: 'Hello', parameters: { max_new_tokens: 3 }, model: 'gpt2' }, 1, 'gpt2'],
    ];
    for (const [path, body, rows, service] of calls) {
      const counts = async () => Promise.all(['corral_queue_wait_seconds_count', 'corral_compute_seconds_count'].map((n) => metric(server.url, series(n, service))));
      const [queued, computed] = await counts();
      const res = await postJson(`${server.url}${path}`, body);
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
      timingOf(res, rows);
      assert.deepEqual(await counts(), [queued! + 1, computed! + 1], `${path}: one queue wait and one compute for ${service}`);
    }
  });

  test('a request that never reached a batcher has no Server-Timing', async () => {
    const res = await postJson(`${server.url}/v2/models/iris/infer`, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1] }] });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('server-timing'), null);
    assert.ok(res.headers.get('x-request-id'));
  });

  test('streamed answers (TGI, OpenAI chat, Ollama chat) send it as a trailer', async () => {
    for (const [path, body, marker] of [
      ['/generate_stream', { inputs: 'Hello', parameters: { max_new_tokens: 3 }, model: 'gpt2' }, 'data:'],
      ['/v1/chat/completions', { model: 'gpt2', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3, stream: true }, 'data:'],
      ['/api/chat', { model: 'gpt2', messages: [{ role: 'user', content: 'Hello' }], options: { num_predict: 3 } }, '"done":true'],
    ] as const) {
      const payload = JSON.stringify(body);
      const { headers, trailers, text } = await new Promise<{ headers: Record<string, unknown>; trailers: NodeJS.Dict<string>; text: string }>((resolve, reject) => {
        const req = request(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => { text += c; });
          res.on('end', () => resolve({ headers: res.headers, trailers: res.trailers, text }));
        });
        req.on('error', reject);
        req.end(payload);
      });
      assert.equal(headers.trailer, 'server-timing', path);
      assert.match(String(headers['x-request-id']), /^[0-9a-f]{32}$/);
      assert.ok(text.includes(marker), path);
      timingOf({ headers: new Headers({ 'server-timing': trailers['server-timing'] ?? '' }) }, 1);
    }
  });
});
