// KServe Open Inference Protocol v2 (REST) against a real Corral: SQLite,
// onnxruntime worker processes, HTTP on loopback.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface InferOutput { name: string; datatype: string; shape: number[]; data: unknown[] }
interface InferResponse { model_name: string; model_version: string; id?: string; outputs: InferOutput[] }

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let server: TestServer;
const url = (path: string) => `${server.url}${path}`;

before(async () => {
  server = await startTestServer();
  for (const [name, fixture] of [['iris', 'iris'], ['multi', 'multi-input'], ['fixed', 'fixed-batch'], ['encoder', 'encoder']] as const) {
    const res = await uploadModel(server.url, name, server.models[fixture]!);
    assert.equal(res.status, 201, `uploading ${name}: ${await res.text()}`);
  }
});
after(async () => { await server.close(); });

// ---------- helpers ----------

const infer = (model: string, body: unknown, path = `/v2/models/${model}/infer`) => postJson(url(path), body);

const irisInput = (data: unknown, shape: unknown[] = [1, 4], datatype = 'FP32', name = 'float_input') => ({ name, shape, datatype, data });

/** Asserts a KServe error: the status and a body that is exactly {"error": "<helpful message>"}. */
async function assertError(res: Response, status: number, message: RegExp): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as { error: unknown };
  assert.deepEqual(Object.keys(body), ['error'], `error body is {"error": ...}: ${text}`);
  assert.equal(typeof body.error, 'string');
  assert.match(body.error as string, message);
  return body.error as string;
}

async function ok<T>(res: Response): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as T;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

// ---------- server ----------

describe('server metadata and health', () => {
  test('GET /v2 gives name, version and extensions', async () => {
    const body = await ok(await fetch(url('/v2')));
    assert.deepEqual(body, { name: 'corral', version: PACKAGE_VERSION, extensions: ['model_repository'] });
  });

  test('GET /v2/health/live is 200 {live: true}', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/health/live'))), { live: true });
  });

  test('GET /v2/health/ready is 200 {ready: true} once workers are up', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/health/ready'))), { ready: true });
  });

  test('POST /v2/repository/index lists every model with its version and state', async () => {
    const body = await ok<Array<{ name: string; version: string; state: string }>>(await postJson(url('/v2/repository/index'), {}));
    for (const name of ['encoder', 'fixed', 'iris', 'multi']) {
      assert.deepEqual(body.find((m) => m.name === name), { name, version: '1', state: 'READY' });
    }
  });
});

// ---------- model metadata & readiness ----------

describe('model metadata and readiness', () => {
  const irisMetadata = {
    name: 'iris',
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ],
  };

  test('GET /v2/models/<name> gives the signature', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/models/iris'))), irisMetadata);
  });

  test('GET /v2/models/<name>/versions/1 gives the same', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/models/iris/versions/1'))), irisMetadata);
  });

  test('the multi-input, fixed-batch and INT64 models show their datatypes and shapes', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/models/multi'))), {
      name: 'multi', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [-1, 3] }, { name: 'b', datatype: 'INT32', shape: [-1, 3] }],
      outputs: [{ name: 'sum', datatype: 'FP32', shape: [-1, 3] }, { name: 'doubled', datatype: 'FP32', shape: [-1, 3] }],
    });
    const fixed = await ok<{ inputs: unknown; outputs: unknown }>(await fetch(url('/v2/models/fixed')));
    assert.deepEqual(fixed.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 4] }]);
    assert.deepEqual(fixed.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 2] }]);
    const encoder = await ok<{ inputs: unknown; outputs: unknown }>(await fetch(url('/v2/models/encoder')));
    assert.deepEqual(encoder.inputs, [{ name: 'input_ids', datatype: 'INT64', shape: [-1, 16] }]);
    assert.deepEqual(encoder.outputs, [
      { name: 'last_hidden_state', datatype: 'FP32', shape: [-1, 16, 64] },
      { name: 'pooled', datatype: 'FP32', shape: [-1, 64] },
    ]);
  });

  test('a replaced model reports its new version; the old one is gone', async () => {
    const name = 'kserve-versioned';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 200);
    const meta = await ok<{ versions: string[] }>(await fetch(url(`/v2/models/${name}`)));
    assert.deepEqual(meta.versions, ['2']);
    assert.equal((await fetch(url(`/v2/models/${name}/versions/2`))).status, 200);
    await assertError(await fetch(url(`/v2/models/${name}/versions/1`)), 404, /has no version '1'/);
    const res = await ok<InferResponse>(await infer(name, { inputs: [irisInput(SETOSA)] }, `/v2/models/${name}/versions/2/infer`));
    assert.equal(res.model_version, '2');
    await assertError(await infer(name, { inputs: [irisInput(SETOSA)] }, `/v2/models/${name}/versions/1/infer`), 404, /version '1'/);
  });

  test('an unknown version is 404 {error}', async () => {
    for (const v of ['2', '0', 'latest', '01']) {
      await assertError(await fetch(url(`/v2/models/iris/versions/${v}`)), 404, new RegExp(`'iris' has no version '${v}'`));
    }
  });

  test('an unknown model is 404 {error} naming it', async () => {
    await assertError(await fetch(url('/v2/models/ghost')), 404, /'ghost'/);
    await assertError(await fetch(url('/v2/models/ghost/versions/1')), 404, /'ghost'/);
    await assertError(await fetch(url('/v2/models/ghost/ready')), 404, /'ghost'/);
  });

  test('GET /v2/models/<name>/ready and /versions/1/ready are 200 {name, ready: true}', async () => {
    assert.deepEqual(await ok(await fetch(url('/v2/models/iris/ready'))), { name: 'iris', ready: true });
    assert.deepEqual(await ok(await fetch(url('/v2/models/iris/versions/1/ready'))), { name: 'iris', ready: true });
    await assertError(await fetch(url('/v2/models/iris/versions/9/ready')), 404, /no version '9'/);
  });
});

// ---------- inference ----------

describe('POST /v2/models/<name>/infer', () => {
  test('the exact response: model_name, model_version, id echoed, every output', async () => {
    const res = await infer('fixed', { id: 'req-42', inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    assert.deepEqual(await ok(res), {
      model_name: 'fixed', model_version: '1', id: 'req-42',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [4.5, 5.5] }],
    });
  });

  test('without an id the response has no id field', async () => {
    const body = await ok<InferResponse>(await infer('fixed', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 0] }] }));
    assert.deepEqual(body, { model_name: 'fixed', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.5, -0.5] }] });
    assert.ok(!('id' in body));
  });

  test('an empty-string id is echoed too', async () => {
    const body = await ok<InferResponse>(await infer('fixed', { id: '', inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 0] }] }));
    assert.equal(body.id, '');
  });

  test('iris: labels are INT64 class indices, probabilities FP32 rows summing to 1', async () => {
    const body = await ok<InferResponse>(await infer('iris', { id: 'iris-2', inputs: [irisInput([...SETOSA, ...VIRGINICA], [2, 4])] }));
    assert.equal(body.model_name, 'iris');
    assert.equal(body.model_version, '1');
    assert.equal(body.id, 'iris-2');
    assert.deepEqual(body.outputs.map((o) => o.name), ['label', 'probabilities']);
    const [label, probs] = body.outputs as [InferOutput, InferOutput];
    assert.deepEqual(label, { name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
    assert.equal(probs.datatype, 'FP32');
    assert.deepEqual(probs.shape, [2, 3]);
    const data = probs.data as number[];
    assert.equal(data.length, 6);
    assert.ok(Math.abs(sum(data.slice(0, 3)) - 1) < 1e-5);
    assert.ok(Math.abs(sum(data.slice(3)) - 1) < 1e-5);
    assert.ok(data[0]! > 0.5 && data[5]! > 0.5, 'the predicted classes carry most of the probability');
  });

  test('nested data is accepted and gives the same answer as flat data', async () => {
    const nested = await ok<InferResponse>(await infer('iris', { inputs: [irisInput([SETOSA, VIRGINICA], [2, 4])] }));
    const flat = await ok<InferResponse>(await infer('iris', { inputs: [irisInput([...SETOSA, ...VIRGINICA], [2, 4])] }));
    assert.deepEqual(nested, flat);
    assert.deepEqual(nested.outputs[0]!.data, [0, 2]);
  });

  test('the versioned infer route works like the plain one', async () => {
    const body = await ok<InferResponse>(await infer('iris', { inputs: [irisInput(VIRGINICA)], outputs: [{ name: 'label' }] }, '/v2/models/iris/versions/1/infer'));
    assert.deepEqual(body, { model_name: 'iris', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [2] }] });
  });

  test('"outputs" selects which outputs come back, in the order asked', async () => {
    const probsOnly = await ok<InferResponse>(await infer('iris', { inputs: [irisInput(SETOSA)], outputs: [{ name: 'probabilities' }] }));
    assert.deepEqual(probsOnly.outputs.map((o) => o.name), ['probabilities']);
    assert.deepEqual(probsOnly.outputs[0]!.shape, [1, 3]);

    const labelOnly = await ok<InferResponse>(await infer('iris', { inputs: [irisInput(SETOSA)], outputs: [{ name: 'label', parameters: { binary_data: false } }] }));
    assert.deepEqual(labelOnly.outputs, [{ name: 'label', datatype: 'INT64', shape: [1], data: [0] }]);

    const both = await ok<InferResponse>(await infer('iris', { inputs: [irisInput(SETOSA)], outputs: [{ name: 'probabilities' }, { name: 'label' }] }));
    assert.deepEqual(both.outputs.map((o) => o.name), ['probabilities', 'label']);
  });

  test('multi-input model with FP32 and INT32 inputs, both outputs', async () => {
    const body = await ok<InferResponse>(await infer('multi', {
      id: 'multi-1',
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
        { name: 'b', shape: [2, 3], datatype: 'INT32', data: [[1, 1, 1], [-1, 0, 2]] },
      ],
    }));
    assert.deepEqual(body, {
      model_name: 'multi', model_version: '1', id: 'multi-1',
      outputs: [
        { name: 'sum', datatype: 'FP32', shape: [2, 3], data: [2, 3, 4, 3, 5, 8] },
        { name: 'doubled', datatype: 'FP32', shape: [2, 3], data: [2, 4, 6, 8, 10, 12] },
      ],
    });
  });

  test('input order does not matter, and outputs can be selected on the multi-input model', async () => {
    const body = await ok<InferResponse>(await infer('multi', {
      inputs: [
        { name: 'b', shape: [1, 3], datatype: 'INT32', data: [10, 20, 30] },
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [0.5, 0.25, -1] },
      ],
      outputs: [{ name: 'doubled' }],
    }));
    assert.deepEqual(body.outputs, [{ name: 'doubled', datatype: 'FP32', shape: [1, 3], data: [1, 0.5, -2] }]);
  });

  test('INT64 input (encoder): numbers and digit strings are accepted and equivalent', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => (i * 37) % 1000);
    const asNumbers = await ok<InferResponse>(await infer('encoder', {
      inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'INT64', data: ids }], outputs: [{ name: 'pooled' }],
    }));
    assert.deepEqual(asNumbers.outputs.map((o) => [o.name, o.datatype, o.shape]), [['pooled', 'FP32', [1, 64]]]);
    const pooled = asNumbers.outputs[0]!.data as number[];
    assert.equal(pooled.length, 64);
    assert.ok(pooled.every((v) => Number.isFinite(v)));
    const asStrings = await ok<InferResponse>(await infer('encoder', {
      inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'INT64', data: ids.map(String) }], outputs: [{ name: 'pooled' }],
    }));
    assert.deepEqual(asStrings.outputs, asNumbers.outputs);
  });

  test('INT64 input errors: fractions, words and a wrong datatype are 400', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => i);
    await assertError(await infer('encoder', { inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'INT64', data: [1.5, ...ids.slice(1)] }] }), 400, /element 0.*integer.*INT64/);
    await assertError(await infer('encoder', { inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'INT64', data: [...ids.slice(1), 'ten'] }] }), 400, /element 15.*INT64/);
    await assertError(await infer('encoder', { inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'INT32', data: ids }] }), 400, /'input_ids' must be INT64, got INT32/);
    await assertError(await infer('encoder', { inputs: [{ name: 'input_ids', shape: [1, 16], datatype: 'FP32', data: ids }] }), 400, /'input_ids' must be INT64, got FP32/);
  });

  test('INT64, BOOL and BYTES data for an FP32 input are 400 naming the expected datatype', async () => {
    await assertError(await infer('iris', { inputs: [irisInput([5, 3, 1, 0], [1, 4], 'INT64')] }), 400, /'float_input' must be FP32, got INT64/);
    await assertError(await infer('iris', { inputs: [irisInput([true, false, true, false], [1, 4], 'BOOL')] }), 400, /'float_input' must be FP32, got BOOL/);
    await assertError(await infer('iris', { inputs: [irisInput(['5.1', '3.5', '1.4', '0.2'], [1, 4], 'BYTES')] }), 400, /'float_input' must be FP32, got BYTES/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, 4], 'FP64')] }), 400, /must be FP32, got FP64/);
  });

  test('data that does not fit the declared datatype is 400 naming the element', async () => {
    await assertError(await infer('iris', { inputs: [irisInput([5.1, 3.5, 'x', 0.2])] }), 400, /'float_input' element 2: expected a number for FP32/);
    await assertError(await infer('iris', { inputs: [irisInput([5.1, null, 1.4, 0.2])] }), 400, /element 1/);
    await assertError(await infer('iris', { inputs: [irisInput([true, 'no', true, false], [1, 4], 'BOOL')] }), 400, /element 1: expected true\/false for BOOL/);
    await assertError(await infer('iris', { inputs: [irisInput(['a', 'b', 3, 'd'], [1, 4], 'BYTES')] }), 400, /element 2: expected a string for BYTES/);
    await assertError(await infer('multi', {
      inputs: [
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'b', shape: [1, 3], datatype: 'INT32', data: [1, 2, 2 ** 31] },
      ],
    }), 400, /'b' element 2: expected an integer in \[-2147483648, 2147483647\]/);
    await assertError(await infer('multi', {
      inputs: [
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'b', shape: [1, 3], datatype: 'INT32', data: [1, 2.5, 3] },
      ],
    }), 400, /'b' element 1: expected an integer for INT32/);
  });

  test('a wrong datatype on one of two inputs is 400 naming that input', async () => {
    await assertError(await infer('multi', {
      inputs: [
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
      ],
    }), 400, /'b' must be INT32, got FP32/);
  });

  test('a wrong shape is 400 naming the expected shape', async () => {
    await assertError(await infer('iris', { inputs: [irisInput([1, 2, 3, 4, 5], [1, 5])] }), 400, /'float_input' must have shape \[-1,4\].*got \[1,5\]/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [4])] }), 400, /'float_input' must have 2 dimensions \[-1,4\], got \[4\]/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, 1, 4])] }), 400, /must have 2 dimensions/);
    await assertError(await infer('iris', { inputs: [irisInput([], [0, 4])] }), 400, /empty/);
  });

  test('data whose length does not match the shape is 400', async () => {
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [2, 4])] }), 400, /'float_input': shape \[2,4\] needs 8 values, got 4/);
    await assertError(await infer('iris', { inputs: [irisInput([...SETOSA, ...VIRGINICA], [1, 4])] }), 400, /needs 4 values, got 8/);
    await assertError(await infer('iris', { inputs: [irisInput(5.1)] }), 400, /needs 4 values, got 1/);
  });

  test('inputs on the multi-input model with different batch sizes are 400', async () => {
    await assertError(await infer('multi', {
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
        { name: 'b', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] },
      ],
    }), 400, /same batch size/);
  });

  test('an unknown input name is 400 listing the model inputs', async () => {
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, 4], 'FP32', 'input')] }), 400, /'iris' has no input 'input'; its inputs are: float_input FP32 \[-1,4\]/);
  });

  test('a missing input is 400 naming it', async () => {
    await assertError(await infer('multi', { inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }), 400, /Missing input 'b' \(INT32 \[-1,3\]\)/);
  });

  test('the same input twice is 400', async () => {
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA), irisInput(VIRGINICA)] }), 400, /'float_input' is given twice/);
  });

  test('an unknown output name is 400 listing the model outputs', async () => {
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA)], outputs: [{ name: 'scores' }] }), 400, /'iris' has no output 'scores'; its outputs are: label INT64 \[-1\], probabilities FP32 \[-1,3\]/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA)], outputs: [{ name: 'label' }, { name: 'nope' }] }), 400, /no output 'nope'/);
  });

  test('an unknown datatype string is 400 listing the valid ones', async () => {
    for (const datatype of ['FLOAT32', 'fp32', 'float', '']) {
      await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, 4], datatype)] }), 400, /unknown datatype.*use one of BOOL, UINT8.*FP32.*BYTES/);
    }
  });

  test('a body without "inputs" is 400 naming the field', async () => {
    await assertError(await infer('iris', {}), 400, /inputs/);
    await assertError(await infer('iris', { id: 'x', data: SETOSA }), 400, /inputs/);
    await assertError(await infer('iris', { inputs: [] }), 400, /inputs/);
    await assertError(await infer('iris', { inputs: irisInput(SETOSA) }), 400, /inputs/);
  });

  test('an input without name, shape or datatype is 400 naming the field', async () => {
    await assertError(await infer('iris', { inputs: [{ shape: [1, 4], datatype: 'FP32', data: SETOSA }] }), 400, /name/);
    await assertError(await infer('iris', { inputs: [{ name: 'float_input', datatype: 'FP32', data: SETOSA }] }), 400, /shape/);
    await assertError(await infer('iris', { inputs: [{ name: 'float_input', shape: [1, 4], data: SETOSA }] }), 400, /datatype/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, -4])] }), 400, /shape/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, [1, 4.5])] }), 400, /shape/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA, ['1', '4'])] }), 400, /shape/);
  });

  test('malformed JSON is 400', async () => {
    const res = await fetch(url('/v2/models/iris/infer'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [{"name": "float_input",' });
    await assertError(res, 400, /not valid JSON/);
    const empty = await fetch(url('/v2/models/iris/infer'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    await assertError(empty, 400, /must be a JSON object; this one is empty/);
  });

  test('inference on an unknown model or version is 404 {error}', async () => {
    await assertError(await infer('ghost', { inputs: [irisInput(SETOSA)] }), 404, /'ghost' is not in the repository/);
    await assertError(await infer('iris', { inputs: [irisInput(SETOSA)] }, '/v2/models/iris/versions/7/infer'), 404, /'iris' has no version '7'/);
  });

  test('the fixed-batch model: a batch of 1 works, [3,4] is 400', async () => {
    const body = await ok<InferResponse>(await infer('fixed', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[-1, 2, 0.5, 4]] }] }));
    assert.deepEqual(body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0, 5.5] }]);
    await assertError(
      await infer('fixed', { inputs: [{ name: 'x', shape: [3, 4], datatype: 'FP32', data: Array.from({ length: 12 }, (_, i) => i) }] }),
      400, /'x' must have shape \[1,4\].*got \[3,4\]/);
  });

  test('concurrent requests to the fixed-batch model are never stacked into one batch', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => [i, 0, 0, i]);
    const bodies = await Promise.all(rows.map((r) => infer('fixed', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: r }] }).then((res) => ok<InferResponse>(res))));
    assert.deepEqual(bodies.map((b) => b.outputs[0]!.data), rows.map((r) => [r[0]! + 0.5, r[3]! - 0.5]));
  });

  test('concurrent iris requests each get their own answer', async () => {
    const samples = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? SETOSA : VIRGINICA));
    const bodies = await Promise.all(samples.map((s, i) => infer('iris', { id: `c${i}`, inputs: [irisInput(s)], outputs: [{ name: 'label' }] }).then((r) => ok<InferResponse>(r))));
    assert.deepEqual(bodies.map((b) => b.id), samples.map((_, i) => `c${i}`));
    assert.deepEqual(bodies.map((b) => b.outputs[0]!.data), samples.map((_, i) => [i % 2 === 0 ? 0 : 2]));
  });
});
