/**
 * Dynamic batching end to end: a real gateway with one worker process running
 * the encoder fixture in onnxruntime. Concurrent KServe requests are batched
 * together, yet each gets exactly the answer it would get alone.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { mulberry32 } from '../fixtures/index.js';
import { batchHistogram as histogramOf } from '../helpers/batch-metrics.js';

const MODEL = 'encoder';
const SEQ = 16;
const VOCAB = 1000;
const REQUESTS = 64;

let server: TestServer;
before(async () => {
  server = await startTestServer({ workers: 1 });
  const up = await uploadModel(server.url, MODEL, server.models.encoder!);
  assert.equal(up.status, 201, await up.text());
});
after(async () => { await server?.close(); });

/** Token ids of request i: deterministic, different for every request. */
function idsOf(i: number): number[] {
  const rng = mulberry32(1000 + i);
  return Array.from({ length: SEQ }, () => Math.floor(rng() * VOCAB));
}

interface InferResponse {
  model_name: string;
  outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
}

async function infer(ids: number[]): Promise<number[]> {
  const res = await postJson(`${server.url}/v2/models/${MODEL}/infer`, {
    inputs: [{ name: 'input_ids', shape: [1, SEQ], datatype: 'INT64', data: ids }],
  });
  const body = (await res.json()) as InferResponse;
  assert.equal(res.status, 200, JSON.stringify(body));
  const pooled = body.outputs.find((o) => o.name === 'pooled');
  assert.ok(pooled, 'the response has a pooled output');
  assert.deepEqual(pooled.shape, [1, 64]);
  assert.equal(pooled.datatype, 'FP32');
  const hidden = body.outputs.find((o) => o.name === 'last_hidden_state');
  assert.deepEqual(hidden?.shape, [1, SEQ, 64], 'each caller gets only its own row of every output');
  return pooled.data;
}

const batchHistogram = () => histogramOf(server.url, MODEL);

function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let k = 0; k < expected.length; k++) {
    assert.ok(Math.abs(actual[k]! - expected[k]!) <= 1e-4, `${what}: element ${k} is ${actual[k]}, alone it is ${expected[k]}`);
  }
}

/** Each request's answer when it is the only one in flight (computed once, then shared by the tests). */
let reference: Promise<number[][]> | undefined;
function answersAlone(): Promise<number[][]> {
  reference ??= (async () => {
    const answers: number[][] = [];
    for (let i = 0; i < REQUESTS; i++) answers.push(await infer(idsOf(i)));
    return answers;
  })();
  return reference;
}

test('requests sent one at a time run as batches of 1', async () => {
  const start = await batchHistogram();
  const alone = await answersAlone();
  const end = await batchHistogram();
  assert.equal(end.count - start.count, REQUESTS, 'one batch per sequential request');
  assert.equal(end.sum - start.sum, REQUESTS, 'every one of batch size 1');
  // Different ids give different answers, so a mixed-up split would be caught.
  assert.notDeepEqual(alone[0], alone[1]);
});

test(`${REQUESTS} concurrent requests are batched and each gets its own answer`, async () => {
  const alone = await answersAlone();
  const start = await batchHistogram();
  const results = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => infer(idsOf(i))));
  const end = await batchHistogram();
  results.forEach((pooled, i) => assertClose(pooled, alone[i]!, `request ${i}`));
  const batches = end.count - start.count;
  const rows = end.sum - start.sum;
  assert.equal(rows, REQUESTS, 'every request ran exactly once');
  assert.ok(rows > batches, `expected at least one batch larger than 1; ${rows} rows ran in ${batches} batches`);
  // Cumulative check as well, over everything this server ran.
  assert.ok(end.sum > end.count);
});

/**
 * Sets max_batch_size through the API, then fires REQUESTS concurrent requests,
 * checks each answer against the same input run alone, and returns the batch
 * histogram before and after.
 */
async function concurrentRunWithMaxBatch(maxBatchSize: number) {
  const patch = await postJson(`${server.url}/api/v1/models/${MODEL}/config`, { max_batch_size: maxBatchSize }, 'PATCH');
  assert.equal(patch.status, 200, await patch.text());
  const alone = await answersAlone();
  const start = await batchHistogram();
  const results = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => infer(idsOf(i))));
  const end = await batchHistogram();
  results.forEach((pooled, i) => assertClose(pooled, alone[i]!, `request ${i}`));
  return { start, end };
}

test('max_batch_size 1 set through the API makes every batch a single request', async () => {
  const { start, end } = await concurrentRunWithMaxBatch(1);
  assert.equal(end.count - start.count, REQUESTS, 'one batch per request');
  assert.equal(end.sum - start.sum, REQUESTS, 'each of size 1');
});

test('setting max_batch_size back lets concurrent requests batch again', async () => {
  const { start, end } = await concurrentRunWithMaxBatch(32);
  assert.equal(end.sum - start.sum, REQUESTS);
  assert.ok(end.sum - start.sum > end.count - start.count, 'batches larger than 1 again');
});
