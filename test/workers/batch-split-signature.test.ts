/**
 * Batch results are split by the model's signature, not by sizes: a real
 * gateway with one worker runs the constant-output fixture, whose `scale`
 * output is a [2] constant. Two one-row requests batched together make a
 * 2-row batch, so `scale` has as many elements as the batch has rows; each
 * request must still get all of `scale`, and its own row of `doubled`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildConstantOutputModel, CONSTANT_OUTPUT } from '../fixtures/index.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { batchHistogram as histogramOf } from '../helpers/batch-metrics.js';

const MODEL = 'constant-output';

let server: TestServer;
before(async () => {
  server = await startTestServer({ workers: 1 });
  const path = join(server.home, 'constant-output.onnx');
  writeFileSync(path, buildConstantOutputModel());
  const up = await uploadModel(server.url, MODEL, path);
  assert.equal(up.status, 201, await up.text());
  // Two rows fill a batch; the first request waits up to 5 s for the second, so they always share a run.
  const patch = await postJson(`${server.url}/api/v1/models/${MODEL}/config`, { max_batch_size: 2, max_queue_delay_microseconds: 5_000_000 }, 'PATCH');
  assert.equal(patch.status, 200, await patch.text());
});
after(async () => { await server?.close(); });

interface Output { name: string; datatype: string; shape: number[]; data: number[] }

async function infer(row: number[], outputs?: string[]): Promise<Output[]> {
  const res = await postJson(`${server.url}/v2/models/${MODEL}/infer`, {
    inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: row }],
    ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}),
  });
  const body = (await res.json()) as { outputs: Output[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.outputs;
}

const batchHistogram = () => histogramOf(server.url, MODEL);

const byName = (outputs: Output[], name: string): Output => {
  const o = outputs.find((t) => t.name === name);
  assert.ok(o, `the response has output '${name}'`);
  return o;
};

test('two batched one-row requests each get the whole constant output and their own row', async () => {
  const start = await batchHistogram();
  const [a, b] = await Promise.all([infer([1, 2]), infer([3, 5])]);
  const end = await batchHistogram();
  assert.deepEqual({ batches: end.count - start.count, rows: end.sum - start.sum }, { batches: 1, rows: 2 }, 'the two requests ran as one batch of 2 rows');

  for (const [name, outputs, row] of [['first', a!, [2, 4]], ['second', b!, [6, 10]]] as const) {
    const scale = byName(outputs, 'scale');
    assert.deepEqual(scale.shape, [2], `${name} request: scale keeps its declared shape`);
    assert.deepEqual(scale.data, [...CONSTANT_OUTPUT], `${name} request: scale is the whole constant`);
    const doubled = byName(outputs, 'doubled');
    assert.deepEqual(doubled.shape, [1, 2], `${name} request: one row of doubled`);
    assert.deepEqual(doubled.data, row, `${name} request: its own row of doubled`);
  }
});

test('the constant output alone, selected by both batched requests, comes back whole to each', async () => {
  const start = await batchHistogram();
  const [a, b] = await Promise.all([infer([1, 2], ['scale']), infer([3, 5], ['scale'])]);
  const end = await batchHistogram();
  assert.deepEqual({ batches: end.count - start.count, rows: end.sum - start.sum }, { batches: 1, rows: 2 });
  for (const outputs of [a!, b!]) {
    assert.deepEqual(outputs.map((o) => o.name), ['scale']);
    assert.deepEqual(byName(outputs, 'scale').shape, [2]);
    assert.deepEqual(byName(outputs, 'scale').data, [...CONSTANT_OUTPUT]);
  }
});
