/**
 * Variable-length batching end to end: a real gateway with one worker process
 * running the masked encoder fixture in onnxruntime. Concurrent KServe v2
 * requests of mixed sequence lengths share padded batches, yet each gets
 * exactly (within 1e-4) the answer it gets alone, trimmed to its own length.
 * Bad masks and disagreeing lengths are 400s; the `padding` setting is shown,
 * changed, refused when the signature cannot serve it, and kept over a re-upload.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildMaskedEncoderModel, mulberry32 } from '../fixtures/index.js';
import { batchHistogram } from '../helpers/batch-metrics.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const MODEL = 'masked-encoder';
const HIDDEN = 64;
const VOCAB = 1000;
const REQUESTS = 48;
/** Request i's length: every length from 3 to 40, in a mixed order. */
const lengthOf = (i: number) => 3 + ((i * 7) % 38);

let server: TestServer;
let modelPath: string;
before(async () => {
  server = await startTestServer({ workers: 1 });
  modelPath = join(server.home, 'masked-encoder.onnx');
  writeFileSync(modelPath, buildMaskedEncoderModel({ hidden: HIDDEN, layers: 2, vocab: VOCAB, maxSeq: 64 }));
  const up = await uploadModel(server.url, MODEL, modelPath);
  assert.equal(up.status, 201, await up.text());
});
after(async () => { await server?.close(); });

interface Output { name: string; datatype: string; shape: number[]; data: number[] }

/** Request i: deterministic ids; every third request masks its last two positions itself. */
function bodyOf(i: number) {
  const n = lengthOf(i);
  const rng = mulberry32(500 + i);
  const ids = Array.from({ length: n }, () => Math.floor(rng() * VOCAB));
  const mask = Array.from({ length: n }, (_, t) => (i % 3 === 0 && t >= n - 2 ? 0 : 1));
  return {
    inputs: [
      { name: 'input_ids', shape: [1, n], datatype: 'INT64', data: ids },
      { name: 'attention_mask', shape: [1, n], datatype: 'INT64', data: mask },
    ],
  };
}

const infer = (body: unknown) => postJson(`${server.url}/v2/models/${MODEL}/infer`, body);

async function answer(i: number): Promise<Record<string, Output>> {
  const res = await infer(bodyOf(i));
  const body = (await res.json()) as { outputs: Output[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  const outputs = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
  assert.deepEqual(outputs.last_hidden_state?.shape, [1, lengthOf(i), HIDDEN], `request ${i} gets its own length back`);
  assert.deepEqual(outputs.pooled?.shape, [1, HIDDEN]);
  return outputs;
}

function assertClose(actual: Output, expected: Output, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  for (let k = 0; k < expected.data.length; k++) {
    if (!(Math.abs(actual.data[k]! - expected.data[k]!) <= 1e-4)) assert.fail(`${what}: element ${k} is ${actual.data[k]}, alone it is ${expected.data[k]}`);
  }
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, 400, text);
  return (JSON.parse(text) as { error: string }).error;
}

const configUrl = () => `${server.url}/api/v1/models/${MODEL}/config`;
const paddingShown = async () => ((await (await fetch(configUrl())).json()) as { padding: unknown }).padding;

/** Each request's answer when it is the only one in flight (the first test fills it). */
let alone: Array<Record<string, Output>> = [];

describe('padded batching of mixed lengths', () => {
  test('requests sent one at a time run alone', async () => {
    const start = await batchHistogram(server.url, MODEL);
    alone = [];
    for (let i = 0; i < REQUESTS; i++) alone.push(await answer(i));
    const end = await batchHistogram(server.url, MODEL);
    assert.equal(end.count - start.count, REQUESTS);
    assert.equal(end.sum - start.sum, REQUESTS);
    assert.notDeepEqual(alone[0]!.pooled!.data, alone[1]!.pooled!.data);
  });

  test(`${REQUESTS} concurrent requests of lengths 3..40 share padded batches, each answer equal to its answer alone`, async () => {
    // A partial batch waits up to 100 ms for company, so the batches formed do not hang on how fast requests arrive.
    const delay = await postJson(configUrl(), { max_queue_delay_microseconds: 100_000 }, 'PATCH');
    assert.equal(delay.status, 200, await delay.text());
    const start = await batchHistogram(server.url, MODEL);
    const results = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => answer(i)));
    const end = await batchHistogram(server.url, MODEL);
    assert.equal((await postJson(configUrl(), { max_queue_delay_microseconds: 0 }, 'PATCH')).status, 200);
    results.forEach((r, i) => {
      assertClose(r.last_hidden_state!, alone[i]!.last_hidden_state!, `request ${i} last_hidden_state`);
      assertClose(r.pooled!, alone[i]!.pooled!, `request ${i} pooled`);
    });
    const rows = end.sum - start.sum;
    const batches = end.count - start.count;
    assert.equal(rows, REQUESTS, 'every request ran exactly once');
    // Exact-shape batching needs at least one batch per distinct length (38); padding needs far fewer.
    assert.ok(batches <= 24, `expected padded batches larger than 1; ${rows} rows ran in ${batches} batches`);
  });

  test('a mask that is not 0/1, and inputs that disagree in length, are 400s naming the fault', async () => {
    const bad = bodyOf(1);
    bad.inputs[1]!.data[0] = 2;
    assert.equal(await errorOf(await infer(bad)), "Input 'attention_mask' is an attention mask and may hold only 0 and 1; element 0 is 2.");
    const uneven = bodyOf(1);
    uneven.inputs[1] = { ...uneven.inputs[1]!, shape: [1, lengthOf(1) - 1], data: uneven.inputs[1]!.data.slice(1) };
    assert.equal(await errorOf(await infer(uneven)),
      `Inputs 'input_ids' and 'attention_mask' must have the same sequence length (axis 1); got ${lengthOf(1)} and ${lengthOf(1) - 1}.`);
  });
});

describe('the padding setting', () => {
  test('GET shows the automatic padding; PATCH false turns it off, so mixed lengths run alone and still answer right', async () => {
    assert.deepEqual(await paddingShown(), { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 0 });
    const off = await postJson(configUrl(), { padding: false }, 'PATCH');
    assert.equal(off.status, 200, await off.text());
    assert.equal(await paddingShown(), false);
    // Distinct lengths only: without padding no two of them can share a batch.
    const distinct = Array.from({ length: 12 }, (_, i) => i);
    const start = await batchHistogram(server.url, MODEL);
    const results = await Promise.all(distinct.map((i) => answer(i)));
    const end = await batchHistogram(server.url, MODEL);
    assert.equal(end.count - start.count, distinct.length, 'one batch per request');
    results.forEach((r, i) => assertClose(r.last_hidden_state!, alone[i]!.last_hidden_state!, `request ${i}`));
    const back = await postJson(configUrl(), { padding: null }, 'PATCH');
    assert.equal(back.status, 200, await back.text());
    assert.deepEqual(await paddingShown(), { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 0 });
  });

  test('an explicit setting is kept over a re-upload; one the signature cannot serve, or malformed, is 400 and changes nothing', async () => {
    const set = await postJson(configUrl(), { padding: { inputs: ['input_ids'], mask: 'attention_mask', pad_id: 3 } }, 'PATCH');
    assert.equal(set.status, 200, await set.text());
    const explicit = { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 3 };
    assert.deepEqual(await paddingShown(), explicit);
    const unknown = await postJson(configUrl(), { padding: { inputs: ['ids'], mask: 'attention_mask' } }, 'PATCH');
    const body = (await unknown.json()) as { error: string; http_status: { description: string } };
    assert.equal(unknown.status, 400);
    assert.equal(body.error, 'BAD_REQUEST');
    assert.equal(body.http_status.description, "Padding names input 'ids', which the model does not have; its inputs are: input_ids, attention_mask.");
    for (const malformed of [{ padding: true }, { padding: { inputs: [], mask: 'attention_mask' } }, { padding: { inputs: ['input_ids'] } }, { padding: { inputs: ['input_ids'], mask: 'attention_mask', pad_id: -1 } }]) {
      const res = await postJson(configUrl(), malformed, 'PATCH');
      assert.equal(res.status, 400, JSON.stringify(malformed));
      assert.equal(((await res.json()) as { error: string }).error, 'BAD_REQUEST');
    }
    const replaced = await uploadModel(server.url, MODEL, modelPath);
    assert.equal(replaced.status, 200, await replaced.text());
    assert.deepEqual(await paddingShown(), explicit);
    // Padding with id 3 instead of 0 changes nothing a masked position can reach.
    const results = await Promise.all([0, 1, 2, 3].map((i) => answer(i)));
    results.forEach((r, i) => {
      assertClose(r.last_hidden_state!, alone[i]!.last_hidden_state!, `request ${i} last_hidden_state`);
      assertClose(r.pooled!, alone[i]!.pooled!, `request ${i} pooled`);
    });
  });
});
