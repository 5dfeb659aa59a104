// Triton's binary tensor data extension on POST /v2/models/<name>/infer against a
// real Corral (SQLite, onnxruntime worker processes, HTTP on loopback): binary
// request bodies, binary answers, both, and every framing error.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { joinHeaderAndBinary, tensorFromBinary } from '../../src/gateway/kserve/binary-tensors.js';
import { tensorDataToJson, type Datatype } from '../../src/runtimes/index.js';
import { CNN_INPUT_SHAPE, mulberry32, uniform } from '../fixtures/index.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface InferOutput { name: string; datatype: Datatype; shape: number[]; data?: unknown[]; parameters?: { binary_data_size: number } }
interface InferResponse { model_name: string; model_version: string; id?: string; outputs: InferOutput[] }

const BODY_LIMIT = 256 * 1024;
const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const IRIS_ROWS = [...SETOSA, ...VIRGINICA];

let server: TestServer;
const inferUrl = (model: string) => `${server.url}/v2/models/${model}/infer`;

before(async () => {
  server = await startTestServer({ maxBodyBytes: BODY_LIMIT });
  for (const [name, fixture] of [['iris', 'iris'], ['cnn', 'cnn'], ['multi', 'multi-input']] as const) {
    const res = await uploadModel(server.url, name, server.models[fixture]!);
    assert.equal(res.status, 201, `uploading ${name}: ${await res.text()}`);
  }
});
after(async () => { await server.close(); });

// ---------- helpers ----------

const f32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);
const i32 = (values: number[]) => Buffer.from(Int32Array.from(values).buffer);
const binaryInput = (name: string, datatype: string, shape: number[], bytes: number) => ({ name, shape, datatype, parameters: { binary_data_size: bytes } });

/** POSTs a JSON header and binary parts, framed as Triton's clients frame them. */
function postBinary(url: string, header: unknown, parts: Uint8Array[], headers: Record<string, string> = { 'content-type': 'application/octet-stream' }): Promise<Response> {
  const { body, headerLength } = joinHeaderAndBinary(header, parts);
  return fetch(url, { method: 'POST', headers: { 'inference-header-content-length': String(headerLength), ...headers }, body });
}

/** A body with an arbitrary Inference-Header-Content-Length (for the framing errors). */
const postRaw = (url: string, body: Buffer, headerLength: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': headerLength }, body });

async function ok(res: Response): Promise<InferResponse> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('inference-header-content-length'), null);
  return JSON.parse(text) as InferResponse;
}

/** Reads a binary answer; each binary output's slice decoded by the codec and turned into JSON values, as the JSON path would give them. */
async function okBinary(res: Response): Promise<{ header: InferResponse; asJson: InferResponse; binaryBytes: number }> {
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, body.toString());
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as InferResponse;
  let offset = headerLength;
  const outputs = header.outputs.map((o) => {
    if (!o.parameters) return o;
    const size = o.parameters.binary_data_size;
    const tensor = tensorFromBinary(o.name, o.datatype, o.shape, body.subarray(offset, offset + size));
    offset += size;
    return { name: o.name, datatype: o.datatype, shape: o.shape, data: tensorDataToJson(tensor) };
  });
  assert.equal(offset, body.length, 'every byte after the header belongs to an output');
  return { header, asJson: { ...header, outputs }, binaryBytes: body.length - headerLength };
}

async function assertError(res: Response, status: number, message: RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text) as { error: string };
  assert.deepEqual(Object.keys(body), ['error'], text);
  assert.match(body.error, message);
}

const irisBinary = { inputs: [binaryInput('float_input', 'FP32', [2, 4], 32)] };
const irisJson = { inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: IRIS_ROWS }] };

// ---------- requests ----------

describe('binary request bodies', () => {
  test('binary in, JSON out: the same answer as the JSON request', async () => {
    const viaJson = await ok(await postJson(inferUrl('iris'), { id: 'a', ...irisJson }));
    const viaBinary = await ok(await postBinary(inferUrl('iris'), { id: 'a', ...irisBinary }, [f32(IRIS_ROWS)]));
    assert.deepEqual(viaBinary, viaJson);
    assert.deepEqual(viaBinary.outputs.find((o) => o.name === 'label')!.data, [0, 2]);
  });

  test('the versioned route takes binary bodies too', async () => {
    const viaJson = await ok(await postJson(`${server.url}/v2/models/iris/versions/1/infer`, irisJson));
    const viaBinary = await ok(await postBinary(`${server.url}/v2/models/iris/versions/1/infer`, irisBinary, [f32(IRIS_ROWS)]));
    assert.deepEqual(viaBinary, viaJson);
  });

  test('any Content-Type but JSON, or none, frames a binary body', async () => {
    const expected = await ok(await postJson(inferUrl('iris'), irisJson));
    for (const headers of <Record<string, string>[]>[{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
      assert.deepEqual(await ok(await postBinary(inferUrl('iris'), irisBinary, [f32(IRIS_ROWS)], headers)), expected, JSON.stringify(headers));
    }
  });

  test('a plain JSON request sent as application/octet-stream (no header) is answered as JSON', async () => {
    const res = await fetch(inferUrl('iris'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: JSON.stringify(irisJson) });
    assert.deepEqual((await ok(res)).outputs.find((o) => o.name === 'label')!.data, [0, 2]);
  });

  test('binary and JSON inputs mix in one request, with the binary part at every offset modulo 4', async () => {
    const expected = await ok(await postJson(inferUrl('multi'), {
      inputs: [{ name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }, { name: 'b', shape: [2, 3], datatype: 'INT32', data: [1, 1, 1, -1, 0, 2] }],
    }));
    assert.deepEqual(expected.outputs, [
      { name: 'sum', datatype: 'FP32', shape: [2, 3], data: [2, 3, 4, 3, 5, 8] },
      { name: 'doubled', datatype: 'FP32', shape: [2, 3], data: [2, 4, 6, 8, 10, 12] },
    ]);
    // A padded id moves the binary part across every offset modulo 4.
    for (const pad of ['', 'x', 'xx', 'xxx']) {
      const mixed = await ok(await postBinary(inferUrl('multi'), {
        id: pad,
        inputs: [binaryInput('a', 'FP32', [2, 3], 24), { name: 'b', shape: [2, 3], datatype: 'INT32', data: [1, 1, 1, -1, 0, 2] }],
      }, [f32([1, 2, 3, 4, 5, 6])]));
      assert.deepEqual(mixed.outputs, expected.outputs, `pad '${pad}'`);
      const both = await ok(await postBinary(inferUrl('multi'), {
        id: pad, inputs: [binaryInput('b', 'INT32', [2, 3], 24), binaryInput('a', 'FP32', [2, 3], 24)],
      }, [i32([1, 1, 1, -1, 0, 2]), f32([1, 2, 3, 4, 5, 6])]));
      assert.deepEqual(both.outputs, expected.outputs, `pad '${pad}'`);
    }
  });
});

// ---------- responses ----------

describe('binary answers', () => {
  test('one output asked as binary: it has binary_data_size and no data, the other stays JSON', async () => {
    const expected = await ok(await postJson(inferUrl('iris'), irisJson));
    const res = await postJson(inferUrl('iris'), { ...irisJson, outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }] });
    const { header, asJson, binaryBytes } = await okBinary(res);
    assert.deepEqual(header.outputs[0], { name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } });
    assert.deepEqual(header.outputs[1], expected.outputs[1]);
    assert.equal(binaryBytes, 16);
    assert.deepEqual(asJson, expected);
  });

  test('binary_data_output asks for every output; the header length is the JSON header in bytes', async () => {
    const expected = await ok(await postJson(inferUrl('iris'), { id: 'é', ...irisJson }));
    const res = await postJson(inferUrl('iris'), { id: 'é', parameters: { binary_data_output: true }, ...irisJson });
    const { header, asJson, binaryBytes } = await okBinary(res);
    assert.deepEqual(header.outputs.map((o) => [o.name, o.parameters, o.data]), [['label', { binary_data_size: 16 }, undefined], ['probabilities', { binary_data_size: 24 }, undefined]]);
    assert.equal(binaryBytes, 40);
    assert.deepEqual(asJson, expected);
  });

  test("an output's binary_data: false wins over binary_data_output", async () => {
    const res = await postJson(inferUrl('iris'), { parameters: { binary_data_output: true }, ...irisJson, outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }] });
    const { header, binaryBytes } = await okBinary(res);
    assert.deepEqual(header.outputs.map((o) => [o.name, o.parameters, o.data]), [['label', undefined, [0, 2]], ['probabilities', { binary_data_size: 24 }, undefined]]);
    assert.equal(binaryBytes, 24);
  });

  test('binary in and out on the cnn: the same probabilities as JSON in, JSON out', async () => {
    const rows = 3;
    const pixels = Array.from(uniform(mulberry32(7), rows * CNN_INPUT_SHAPE.reduce((a, b) => a * b, 1), 1));
    const shape = [rows, ...CNN_INPUT_SHAPE];
    const expected = await ok(await postJson(inferUrl('cnn'), { inputs: [{ name: 'image', shape, datatype: 'FP32', data: pixels }] }));
    const res = await postBinary(inferUrl('cnn'), { parameters: { binary_data_output: true }, inputs: [binaryInput('image', 'FP32', shape, pixels.length * 4)] }, [f32(pixels)]);
    const { asJson, binaryBytes } = await okBinary(res);
    assert.equal(binaryBytes, rows * 10 * 4);
    assert.deepEqual(asJson, expected);
  });
});

// ---------- errors ----------

describe('binary framing errors are 400 naming what is wrong', () => {
  const irisBody = (header: unknown, binary: Buffer) => Buffer.concat([Buffer.from(JSON.stringify(header)), binary]);

  test('Inference-Header-Content-Length not a number', async () => {
    for (const value of ['abc', '-1', '12.5', '']) {
      await assertError(await postRaw(inferUrl('iris'), irisBody(irisBinary, f32(IRIS_ROWS)), value), 400, /Inference-Header-Content-Length must be the JSON header's length in bytes/);
    }
  });

  test('Inference-Header-Content-Length larger than the body', async () => {
    const body = irisBody(irisBinary, f32(IRIS_ROWS));
    await assertError(await postRaw(inferUrl('iris'), body, String(body.length + 1)), 400, new RegExp(`is ${body.length + 1} bytes, but the body has only ${body.length}`));
  });

  test('binary_data_size that does not match shape × element size', async () => {
    await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('float_input', 'FP32', [2, 4], 28)] }, [f32(IRIS_ROWS).subarray(0, 28)]), 400,
      /Input 'float_input': binary_data_size is 28 bytes, but shape \[2,4\] of FP32 needs 32 \(8 × 4\)/);
  });

  test('binary_data_size running past the end of the body', async () => {
    await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('float_input', 'FP32', [2, 4], 32)] }, [f32(IRIS_ROWS).subarray(0, 16)]), 400,
      /Input 'float_input': binary_data_size 32 from byte 0 runs past the end of the binary data \(16 bytes\)/);
  });

  test('binary_data_size that is not a whole number of bytes', async () => {
    for (const size of [-4, 1.5, '32']) {
      await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('float_input', 'FP32', [2, 4], size as number)] }, [f32(IRIS_ROWS)]), 400,
        /Input 'float_input': parameters.binary_data_size must be a whole number of bytes/);
    }
  });

  test('both data and binary_data_size', async () => {
    await assertError(await postBinary(inferUrl('iris'), { inputs: [{ ...binaryInput('float_input', 'FP32', [2, 4], 32), data: IRIS_ROWS }] }, [f32(IRIS_ROWS)]), 400,
      /Input 'float_input' has both 'data' and parameters.binary_data_size/);
  });

  test('leftover bytes claimed by no input', async () => {
    await assertError(await postBinary(inferUrl('iris'), irisBinary, [f32(IRIS_ROWS), f32([1])]), 400,
      /4 bytes of binary data after the inputs belong to no input \(their binary_data_size add up to 32 of 36\)/);
  });

  test('an input with neither data nor binary_data_size, binary or JSON', async () => {
    const neither = { inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32' }] };
    await assertError(await postBinary(inferUrl('iris'), neither, []), 400, /Input 'float_input' has neither 'data' nor parameters.binary_data_size/);
    await assertError(await postJson(inferUrl('iris'), neither), 400, /Input 'float_input' has neither 'data' nor parameters.binary_data_size/);
  });

  test('binary_data_size in a plain JSON body (no Inference-Header-Content-Length)', async () => {
    await assertError(await postJson(inferUrl('iris'), irisBinary), 400, /Input 'float_input' has parameters.binary_data_size but the body has no binary part/);
  });

  test('BYTES element lengths running past their slice, and BOOL bytes other than 0 or 1', async () => {
    const bytes = Buffer.from([5, 0, 0, 0, 0x61, 0x62]);
    await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('text', 'BYTES', [1], bytes.length)] }, [bytes]), 400,
      /Input 'text' \(BYTES, shape \[1\]\): element 0 is 5 bytes from byte 4, past the end of its 6 bytes/);
    await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('flags', 'BOOL', [3], 3)] }, [Buffer.from([1, 0, 2])]), 400,
      /Input 'flags' element 2: BOOL bytes must be 0 or 1, got 2/);
  });

  test('a binary body sent as application/json is 415 saying which Content-Type to use', async () => {
    await assertError(await postBinary(inferUrl('iris'), irisBinary, [f32(IRIS_ROWS)], { 'content-type': 'application/json' }), 415,
      /Inference-Header-Content-Length carries binary tensors: send it as Content-Type application\/octet-stream/);
  });

  test('the body limit applies to binary bodies (413)', async () => {
    const rows = Math.ceil(BODY_LIMIT / 16) + 1;
    const res = await postBinary(inferUrl('iris'), { inputs: [binaryInput('float_input', 'FP32', [rows, 4], rows * 16)] }, [Buffer.alloc(rows * 16)]);
    await assertError(res, 413, /raise CORRAL_MAX_BODY_MB/);
  });

  test('the model still validates binary tensors: a wrong datatype is 400 from the model check', async () => {
    await assertError(await postBinary(inferUrl('iris'), { inputs: [binaryInput('float_input', 'FP64', [2, 4], 64)] }, [Buffer.from(Float64Array.from(IRIS_ROWS).buffer)]), 400,
      /'float_input' must be FP32, got FP64/);
  });
});
