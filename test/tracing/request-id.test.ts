/**
 * One id per request: X-Request-Id is echoed when safe, else a traceparent's
 * trace id, else a new id; every response carries it (errors and refusals too);
 * the gateway's log lines and the worker's lines about the request name it, and
 * a batch names all of its requests.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { irisBody, waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { captureGatewayLog, HELD_ROW, HoldGate, metricReaches, SETOSA } from './tracing-helpers.js';

let server: TestServer;
let gate: HoldGate;
let gatewayLog: Array<Record<string, unknown>>;
const HEX32 = /^[0-9a-f]{32}$/;

before(async () => {
  gate = await HoldGate.open(true);
  server = await startTestServer({ workers: 1 }, { CORRAL_LOG_LEVEL: 'debug' });
  gate.restoreEnv();
  gatewayLog = captureGatewayLog(server.corral.logger);
  const up = await uploadModel(server.url, 'iris', server.models.iris!);
  assert.equal(up.status, 201, await up.text());
});
after(async () => {
  await server?.close();
  await gate?.close();
});

const infer = (rows: number[][], headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(irisBody(rows)) });

/** The lines workers printed while running iris, as the service log keeps them. */
async function workerLines(): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${server.url}/api/services/iris/logs?tail=1000`);
  assert.equal(res.status, 200);
  const { lines } = (await res.json()) as { lines: Array<{ text: string }> };
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l.text) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Waits for the worker's line `msg` that names request `id`. */
const workerLineNaming = (id: string, msg: string) => waitFor(`worker line '${msg}' naming ${id}`,
  async () => (await workerLines()).find((l) => l.msg === msg && (l.reqIds as string[] | undefined)?.includes(id)), 20_000, 50);

describe('the id of a request', () => {
  test('is made when the client sends none: 32 hex digits, a new one each time', async () => {
    const [a, b] = await Promise.all([infer([SETOSA]), infer([SETOSA])]);
    assert.equal(a.status, 200);
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    for (const id of ids) assert.match(id ?? '', HEX32);
    assert.notEqual(ids[0], ids[1]);
  });

  test('is the client\'s X-Request-Id when it is safe to echo', async () => {
    for (const id of ['abc-123', 'A.b_c:d-1', 'x'.repeat(128), '5f0c2d8e-3a1b-4c7d-9e2f-0123456789ab']) {
      const res = await infer([SETOSA], { 'x-request-id': id });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), id);
    }
  });

  test('replaces an X-Request-Id that is too long, empty or has unsafe characters', async () => {
    for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', 'quote"', '<script>', 'ünïcode', 'a/b']) {
      const res = await infer([SETOSA], { 'x-request-id': bad });
      assert.equal(res.status, 200, bad);
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, HEX32, `'${bad}' was replaced`);
    }
  });

  test('is the trace id of a valid traceparent; an invalid one is ignored; X-Request-Id wins over it', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const valid = await infer([SETOSA], { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(valid.headers.get('x-request-id'), traceId);
    for (const bad of [`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-${traceId}-${'0'.repeat(16)}-01`, `ff-${traceId}-00f067aa0ba902b7-01`,
      `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`, `00-${traceId}-00f067aa0ba902b7-01-extra`, 'garbage']) {
      const res = await infer([SETOSA], { traceparent: bad });
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, HEX32, bad);
      assert.notEqual(id, traceId, `${bad} is not honoured`);
    }
    const both = await infer([SETOSA], { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'mine-1' });
    assert.equal(both.headers.get('x-request-id'), 'mine-1');
  });

  test('comes back on errors: unknown route, bad input, bad JSON, unknown model, refused Host', async () => {
    const notFound = await fetch(`${server.url}/no/such/route`, { headers: { 'x-request-id': 'err-404' } });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get('x-request-id'), 'err-404');
    const badInput = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'err-400' },
      body: JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] }),
    });
    assert.equal(badInput.status, 400);
    assert.equal(badInput.headers.get('x-request-id'), 'err-400');
    const badJson = await fetch(`${server.url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'err-json' }, body: '{' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.headers.get('x-request-id'), 'err-json');
    const noModel = await postJson(`${server.url}/v2/models/nope/infer`, irisBody([SETOSA]));
    assert.equal(noModel.status, 404);
    assert.match(noModel.headers.get('x-request-id') ?? '', HEX32);
    // The Host guard refuses before any route runs (fetch cannot set Host; node:http can).
    const misdirected = await new Promise<{ status: number; id: unknown }>((resolve, reject) => {
      const req = request(`${server.url}/v2/models/iris`, { headers: { host: 'evil.example', 'x-request-id': 'err-421' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, id: res.headers['x-request-id'] });
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(misdirected, { status: 421, id: 'err-421' });
  });
});

describe('log lines about a request name it', () => {
  test('the gateway\'s batch line and the worker\'s run line carry the request id', async () => {
    const res = await infer([SETOSA], { 'x-request-id': 'logged-1' });
    assert.equal(res.status, 200);
    const dispatched = gatewayLog.find((l) => l.msg === 'batch dispatched' && (l.reqIds as string[]).includes('logged-1'));
    assert.ok(dispatched, 'the gateway logged the batch with the request id');
    assert.equal(dispatched.model, 'iris');
    const ran = await workerLineNaming('logged-1', 'ran batch');
    assert.equal(ran.model, 'iris');
    assert.equal(typeof ran.computeMs, 'number');
  });

  test('a failing request: the gateway\'s error line has Fastify\'s reqId, the worker\'s failure line the id', async () => {
    // worker-faults.mjs: a first value of 777 makes onnxruntime throw an internal error (503).
    const res = await infer([[777, 1, 1, 1]], { 'x-request-id': 'fails-1' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-request-id'), 'fails-1');
    const warned = gatewayLog.find((l) => l.reqId === 'fails-1' && l.level === 40);
    assert.ok(warned, `the gateway's warning names the request: ${JSON.stringify(gatewayLog.slice(-5))}`);
    assert.equal(warned.code, 'INFERENCE_FAILED');
    const failed = await workerLineNaming('fails-1', 'batch failed');
    assert.equal(failed.kind, 'internal');
  });

  test('a batch names every request in it, in the gateway\'s line and the worker\'s', async () => {
    // One worker, held busy: the three requests queue behind it and leave as one batch.
    const holding = infer([HELD_ROW], { 'x-request-id': 'holder' });
    await gate.held();
    const ids = ['ride-a', 'ride-b', 'ride-c'];
    const riders = ids.map((id) => infer([SETOSA], { 'x-request-id': id }));
    await metricReaches(server.url, 'corral_queue_depth{model="iris"}', 3);
    gate.release();
    for (const res of [await holding, ...(await Promise.all(riders))]) assert.equal(res.status, 200);
    const batchLines = gatewayLog.filter((l) => l.msg === 'batch dispatched' && ids.some((id) => (l.reqIds as string[]).includes(id)));
    assert.equal(batchLines.length, 1, 'one batch');
    assert.deepEqual([...(batchLines[0]!.reqIds as string[])].sort(), ids);
    assert.equal(batchLines[0]!.rows, 3);
    const ran = await workerLineNaming('ride-a', 'ran batch');
    assert.deepEqual([...(ran.reqIds as string[])].sort(), ids);
  });
});
