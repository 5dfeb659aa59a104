/**
 * A request whose client goes away while it waits behind a busy worker leaves
 * the batcher: it is never run (the worker never sees it) and is counted in
 * corral_requests_abandoned_total{model}.
 */
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { irisBody, waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { HELD_ROW, HoldGate, metric, metricReaches, SETOSA } from './tracing-helpers.js';

let server: TestServer;
let gate: HoldGate;

before(async () => {
  gate = await HoldGate.open();
  server = await startTestServer({ workers: 1 }, { CORRAL_LOG_LEVEL: 'debug' });
  gate.restoreEnv();
  const up = await uploadModel(server.url, 'iris', server.models.iris!);
  assert.equal(up.status, 201, await up.text());
});
after(async () => {
  await server?.close();
  await gate?.close();
});

const infer = (rows: number[][], id: string) =>
  fetch(`${server.url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify(irisBody(rows)) });

/** The request ids of every batch the worker ran, from its log lines (the service log). */
async function ranIds(): Promise<string[]> {
  const { lines } = (await (await fetch(`${server.url}/api/services/iris/logs?tail=1000`)).json()) as { lines: Array<{ text: string }> };
  return lines.flatMap((l) => {
    try {
      const line = JSON.parse(l.text) as { msg?: string; reqIds?: string[] };
      return line.msg === 'ran batch' ? line.reqIds ?? [] : [];
    } catch {
      return [];
    }
  });
}

test('a client that hangs up while its request is queued: dropped, never computed, counted', async () => {
  const series = (name: string) => `${name}{model="iris"}`;
  const start = {
    abandoned: await metric(server.url, series('corral_requests_abandoned_total')),
    computed: await metric(server.url, series('corral_compute_seconds_count')),
    queued: await metric(server.url, series('corral_queue_wait_seconds_count')),
  };
  const holder = infer([HELD_ROW], 'holder');
  await gate.held();

  // A real socket of its own, closed by the client while its request waits behind the holder.
  const payload = JSON.stringify(irisBody([SETOSA]));
  let req: ClientRequest | undefined;
  const answered = new Promise<string>((resolve) => {
    req = request(`${server.url}/v2/models/iris/infer`, {
      method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': 'gone-1' },
    }, () => resolve('answered'));
    req.on('error', () => resolve('closed'));
    req.end(payload);
  });
  await metricReaches(server.url, series('corral_queue_depth'), 1);
  req!.destroy();
  assert.equal(await answered, 'closed');
  await metricReaches(server.url, series('corral_requests_abandoned_total'), start.abandoned + 1);
  assert.equal(await metric(server.url, series('corral_queue_depth')), 0, 'it left the queue');

  gate.release();
  assert.equal((await holder).status, 200);
  const after = await infer([SETOSA], 'after-1');
  assert.equal(after.status, 200);

  assert.equal(await metric(server.url, series('corral_compute_seconds_count')), start.computed + 2, 'the worker ran the holder and the next request only');
  assert.equal(await metric(server.url, series('corral_queue_wait_seconds_count')), start.queued + 2, 'the abandoned request was never dispatched');
  assert.equal(await metric(server.url, series('corral_requests_abandoned_total')), start.abandoned + 1, 'counted once');
  // It got no answer, so corral_requests_total (answers by status) has no error for it: only the two 200s.
  assert.equal(await metric(server.url, 'corral_requests_total{model="iris",api="kserve",status="200"}'), 2);
  const counted = (await (await fetch(`${server.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('corral_requests_total{model="iris"'));
  assert.deepEqual(counted, ['corral_requests_total{model="iris",api="kserve",status="200"} 2']);
  const ran = await waitFor('the worker lines of both runs', async () => {
    const ids = await ranIds();
    return ids.includes('holder') && ids.includes('after-1') ? ids : undefined;
  }, 20_000, 50);
  assert.ok(!ran.includes('gone-1'), `the worker never saw it: ${ran.join(', ')}`);
});

test('a request still answered normally when its client stays', async () => {
  const res = await postJson(`${server.url}/v2/models/iris/infer`, irisBody([SETOSA]));
  assert.equal(res.status, 200);
  assert.equal(await metric(server.url, 'corral_requests_abandoned_total{model="iris"}'), 1);
});
