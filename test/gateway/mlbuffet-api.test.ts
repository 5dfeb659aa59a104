// MLBuffet-compatible routes against a real Corral: SQLite, onnxruntime worker
// processes, HTTP on loopback. Every route with good and bad input.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { getWithJsonBody, postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface HttpStatus { code: number; description: string; name: string }
type Envelope = { http_status: HttpStatus; error?: string } & Record<string, unknown>;
interface ModelInfo {
  model: string; description: string; version: number; format: string; size_bytes: number; sha256: string;
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
  outputs: Array<{ name: string; datatype: string; shape: number[] }>;
  dynamic_batching: { max_batch_size: number; max_queue_delay_microseconds: number };
  created_at: string; updated_at: string;
}
interface Prediction { values: unknown; outputs: Record<string, unknown> }

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const VERSICOLOR = [5.9, 3.0, 4.2, 1.5];

let server: TestServer;
let modelsDir: string;
const url = (path: string) => `${server.url}${path}`;

before(async () => {
  server = await startTestServer();
  modelsDir = join(server.home, 'models');
  // Shared, read-only models; tests that change state upload their own under unique names.
  for (const [name, fixture] of [['iris.onnx', 'iris'], ['cnn.onnx', 'cnn'], ['multi.onnx', 'multi-input'], ['fixed.onnx', 'fixed-batch']] as const) {
    const res = await uploadModel(server.url, name, server.models[fixture]!);
    assert.equal(res.status, 201, `uploading ${name}: ${await res.text()}`);
  }
});
after(async () => { await server.close(); });

// ---------- helpers ----------

/** Asserts the MLBuffet envelope and returns the body. */
function assertEnvelope(body: unknown, code: number, name: string): Envelope {
  assert.ok(body && typeof body === 'object', `body is an object: ${JSON.stringify(body)}`);
  const env = body as Envelope;
  assert.ok(env.http_status, `body has http_status: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(env.http_status).sort(), ['code', 'description', 'name']);
  assert.equal(env.http_status.code, code, JSON.stringify(body));
  assert.equal(env.http_status.name, name);
  assert.equal(typeof env.http_status.description, 'string');
  assert.ok(env.http_status.description.length > 0);
  return env;
}

/** Asserts an MLBuffet error: status, envelope and catalog code; returns the description. */
async function assertError(res: Response | { status: number; json: unknown }, status: number, code: string, message?: RegExp): Promise<string> {
  const body = res instanceof Response ? await res.json() : res.json;
  assert.equal(res.status, status, JSON.stringify(body));
  const env = assertEnvelope(body, status, { 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type' }[status]!);
  assert.equal(env.error, code, JSON.stringify(body));
  if (message) assert.match(env.http_status.description, message);
  return env.http_status.description;
}

async function getJson(path: string): Promise<{ status: number; body: Envelope }> {
  const res = await fetch(url(path));
  return { status: res.status, body: (await res.json()) as Envelope };
}

async function modelNames(): Promise<string[]> {
  const { body } = await getJson('/api/v1/models');
  return body.model_list as string[];
}

/** Any method, any body (GET with a body included), via node:http. */
function rawRequest(target: string, method: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : Buffer.from(body);
  return new Promise((resolve, reject) => {
    // The path goes out exactly as written: a URL object would resolve '..' segments itself.
    const { hostname, port, origin } = new URL(target);
    const req = request({ hostname, port, path: target.slice(origin.length), method, headers: { ...headers, ...(payload ? { 'content-length': String(payload.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          reject(new Error(`Not JSON (${res.statusCode}): ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Encodes a FormData as fetch would, so it can be sent with any method. */
async function multipartBody(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const r = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type')! };
}

function uploadBytes(name: string, bytes: Uint8Array<ArrayBuffer>, field = 'path', encodedName = encodeURIComponent(name)): Promise<Response> {
  const form = new FormData();
  form.append(field, new Blob([bytes]), 'model.onnx');
  return fetch(url(`/api/v1/models/${encodedName}`), { method: 'PUT', body: form });
}

function predictImage(model: string, image: Uint8Array<ArrayBuffer>, field = 'file'): Promise<Response> {
  const form = new FormData();
  form.append(field, new Blob([image], { type: 'image/png' }), 'image.png');
  return fetch(url(`/api/v1/models/${model}/prediction`), { method: 'POST', body: form });
}

const png = (background: string, width = 50, height = 40) =>
  sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();

/** What the models directory holds, apart from the temp-upload directory. */
const modelDirs = () => readdirSync(modelsDir).filter((e) => e !== '.incoming').sort();
const incomingFiles = () => (existsSync(join(modelsDir, '.incoming')) ? readdirSync(join(modelsDir, '.incoming')) : []);

/** Snapshot of repository state for "nothing changed" checks. */
async function snapshot() {
  return { names: await modelNames(), dirs: modelDirs() };
}
async function assertNothingNew(before: { names: string[]; dirs: string[] }) {
  assert.deepEqual(await modelNames(), before.names, 'model list unchanged');
  assert.deepEqual(modelDirs(), before.dirs, 'models directory unchanged');
  assert.deepEqual(incomingFiles(), [], 'no leftover upload files in .incoming');
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

// ---------- welcome & help ----------

describe('GET / and /help', () => {
  test('GET / greets in the MLBuffet envelope and nothing else', async () => {
    const res = await fetch(url('/'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json();
    assert.deepEqual(Object.keys(body as object), ['http_status']);
    const env = assertEnvelope(body, 200, 'OK');
    assert.match(env.http_status.description, /Greetings/);
    assert.match(env.http_status.description, /\/help/);
  });

  test('GET /help lists every MLBuffet route with method and description, and the other families after', async () => {
    const { status, body } = await getJson('/help');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
    const routes = body.routes as Array<{ method: string; path: string; description: string; family: string }>;
    assert.ok(Array.isArray(routes));
    const listed = routes.filter((r) => r.family === 'MLBuffet').map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(listed, [
      'GET /', 'GET /help', 'GET /api/v1/models', 'GET /api/v1/models/information', 'GET /api/v1/models/<name>',
      'POST /api/v1/models/<name>', 'PUT /api/v1/models/<name>', 'DELETE /api/v1/models/<name>',
      'GET /api/v1/models/<name>/config', 'PATCH /api/v1/models/<name>/config', 'GET|POST /api/v1/models/<name>/prediction',
    ]);
    // Every family's routes are there too (test/gateway/openapi.test.ts checks them all).
    const family = (method: string, path: string) => routes.find((r) => r.method === method && r.path === path)?.family;
    assert.equal(family('GET', '/v2'), 'KServe v2');
    assert.equal(family('GET', '/metrics'), 'Metrics');
    assert.equal(family('POST', '/v1/chat/completions'), 'OpenAI');
    for (const r of routes) assert.ok(r.description.length > 0, `${r.path} has a description`);
  });

  test('trailing slash is tolerated', async () => {
    const { status, body } = await getJson('/help/');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
  });
});

// ---------- list, information, describe ----------

describe('model listing and information', () => {
  test('GET /api/v1/models lists model names, sorted', async () => {
    const { status, body } = await getJson('/api/v1/models');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
    const names = body.model_list as string[];
    // The four shared models, uploaded in that order (iris, cnn, multi, fixed); no test has added one yet.
    assert.deepEqual(names, ['cnn.onnx', 'fixed.onnx', 'iris.onnx', 'multi.onnx']);
  });

  test('GET /api/v1/models/information gives {model, description} per model', async () => {
    const name = 'info-described.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    const text = 'Clasificación de especies de flores de Iris: setosa, versicolor o virginica';
    assert.equal((await postJson(url(`/api/v1/models/${name}`), { model_description: text })).status, 200);

    const { status, body } = await getJson('/api/v1/models/information');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
    const list = body.model_list as Array<{ model: string; description: string }>;
    for (const entry of list) assert.deepEqual(Object.keys(entry).sort(), ['description', 'model']);
    assert.deepEqual(list.find((m) => m.model === name), { model: name, description: text });
    assert.deepEqual(list.find((m) => m.model === 'iris.onnx'), { model: 'iris.onnx', description: '' });
    assert.deepEqual(list.map((m) => m.model), await modelNames());
  });

  test('GET /api/v1/models/<name> describes the model: signature, size, hash, version, batching', async () => {
    const { status, body } = await getJson('/api/v1/models/iris.onnx');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
    const m = body as unknown as ModelInfo;
    const file = readFileSync(server.models.iris!);
    assert.equal(m.model, 'iris.onnx');
    assert.equal(m.description, '');
    assert.equal(m.version, 1);
    assert.equal(m.format, 'onnx');
    assert.equal(m.size_bytes, file.length);
    assert.equal(m.sha256, createHash('sha256').update(file).digest('hex'));
    assert.deepEqual(m.inputs, [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(m.outputs, [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ]);
    assert.deepEqual(m.dynamic_batching, { max_batch_size: 32, max_queue_delay_microseconds: 0 });
    assert.ok(!Number.isNaN(Date.parse(m.created_at)));
    assert.ok(!Number.isNaN(Date.parse(m.updated_at)));
  });

  test('a model without a batch dimension reports max_batch_size 1', async () => {
    const { body } = await getJson('/api/v1/models/fixed.onnx');
    const m = body as unknown as ModelInfo;
    assert.deepEqual(m.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 4] }]);
    assert.deepEqual(m.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 2] }]);
    assert.equal(m.dynamic_batching.max_batch_size, 1);
  });

  test('the multi-input model shows both inputs with their datatypes', async () => {
    const { body } = await getJson('/api/v1/models/multi.onnx');
    const m = body as unknown as ModelInfo;
    assert.deepEqual(m.inputs, [
      { name: 'a', datatype: 'FP32', shape: [-1, 3] },
      { name: 'b', datatype: 'INT32', shape: [-1, 3] },
    ]);
    assert.deepEqual(m.outputs.map((o) => o.name), ['sum', 'doubled']);
  });

  test('GET an unknown model is 404 MODEL_NOT_FOUND in the envelope', async () => {
    await assertError(await fetch(url('/api/v1/models/no-such-model.onnx')), 404, 'MODEL_NOT_FOUND', /no-such-model\.onnx/);
  });
});

// ---------- description ----------

describe('POST /api/v1/models/<name> (description)', () => {
  const name = 'describe-me.onnx';
  before(async () => { assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201); });

  test('sets the description and returns the updated model', async () => {
    const text = 'This model classifies a 4 element array input between different species of Iris flowers.';
    const res = await postJson(url(`/api/v1/models/${name}`), { model_description: text });
    assert.equal(res.status, 200);
    const body = assertEnvelope(await res.json(), 200, 'OK');
    assert.match(body.http_status.description, /describe-me\.onnx/);
    assert.equal(body.model, name);
    assert.equal(body.description, text);
    assert.equal(body.version, 1, 'describing does not bump the version');

    const { body: got } = await getJson(`/api/v1/models/${name}`);
    assert.equal(got.description, text);
  });

  test('an empty description is allowed and clears it', async () => {
    assert.equal((await postJson(url(`/api/v1/models/${name}`), { model_description: 'temp' })).status, 200);
    const res = await postJson(url(`/api/v1/models/${name}`), { model_description: '' });
    assert.equal(res.status, 200);
    const { body } = await getJson(`/api/v1/models/${name}`);
    assert.equal(body.description, '');
  });

  test('missing model_description is 400 BAD_REQUEST naming the field', async () => {
    await assertError(await postJson(url(`/api/v1/models/${name}`), { description: 'x' }), 400, 'BAD_REQUEST', /model_description/);
    await assertError(await postJson(url(`/api/v1/models/${name}`), {}), 400, 'BAD_REQUEST', /model_description/);
  });

  test('a model_description that is not a string is 400', async () => {
    for (const wrong of [42, true, ['a'], { text: 'a' }, null]) {
      await assertError(await postJson(url(`/api/v1/models/${name}`), { model_description: wrong }), 400, 'BAD_REQUEST', /model_description/);
    }
    const { body } = await getJson(`/api/v1/models/${name}`);
    assert.notEqual(body.description, '42', 'a number is not stored as a description');
  });

  test('a body that is not an object is 400', async () => {
    await assertError(await postJson(url(`/api/v1/models/${name}`), 'just a string'), 400, 'BAD_REQUEST');
    await assertError(await postJson(url(`/api/v1/models/${name}`), ['model_description']), 400, 'BAD_REQUEST');
  });

  test('a description over 10000 characters is 400', async () => {
    await assertError(await postJson(url(`/api/v1/models/${name}`), { model_description: 'x'.repeat(10_001) }), 400, 'BAD_REQUEST');
  });

  test('malformed JSON is 400 INVALID_JSON', async () => {
    const res = await fetch(url(`/api/v1/models/${name}`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model_description": "x"' });
    await assertError(res, 400, 'INVALID_JSON');
  });

  test('describing an unknown model is 404', async () => {
    await assertError(await postJson(url('/api/v1/models/ghost.onnx'), { model_description: 'x' }), 404, 'MODEL_NOT_FOUND');
    assert.ok(!(await modelNames()).includes('ghost.onnx'));
  });
});

// ---------- upload ----------

describe('PUT /api/v1/models/<name> (upload)', () => {
  test('a new model is 201 Created with version 1 and is served at once', async () => {
    const name = 'upload-new.onnx';
    const res = await uploadModel(server.url, name, server.models.iris!);
    assert.equal(res.status, 201);
    const body = assertEnvelope(await res.json(), 201, 'Created');
    assert.match(body.http_status.description, /upload-new\.onnx/);
    assert.equal(body.model, name);
    assert.equal(body.version, 1);
    assert.equal(body.size_bytes, statSync(server.models.iris!).size);
    assert.ok((await modelNames()).includes(name));
    assert.ok(existsSync(join(modelsDir, name, '1', 'model.onnx')), 'stored as <name>/<version>/model.onnx');
    assert.deepEqual(incomingFiles(), []);

    const pred = await postJson(url(`/api/v1/models/${name}/prediction`), { values: VIRGINICA });
    assert.equal(pred.status, 200);
    assert.deepEqual(((await pred.json()) as Prediction).values, [2]);
  });

  test('replacing a model is 200, bumps the version, keeps description and batching, serves the new file', async () => {
    const name = 'upload-replace.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    assert.equal((await postJson(url(`/api/v1/models/${name}`), { model_description: 'kept across versions' })).status, 200);
    assert.equal((await postJson(url(`/api/v1/models/${name}/config`), { max_queue_delay_microseconds: 1500 }, 'PATCH')).status, 200);
    const v1 = (await getJson(`/api/v1/models/${name}`)).body as unknown as ModelInfo;
    // Warm the old version in a worker so the replacement has to retire it.
    assert.equal((await postJson(url(`/api/v1/models/${name}/prediction`), { values: SETOSA })).status, 200);

    const res = await uploadModel(server.url, name, server.models['fixed-batch']!);
    assert.equal(res.status, 200);
    const body = assertEnvelope(await res.json(), 200, 'OK');
    assert.match(body.http_status.description, /replaced/);
    const v2 = body as unknown as ModelInfo;
    assert.equal(v2.version, 2);
    assert.equal(v2.description, 'kept across versions');
    assert.equal(v2.dynamic_batching.max_queue_delay_microseconds, 1500);
    assert.equal(v2.created_at, v1.created_at);
    assert.notEqual(v2.sha256, v1.sha256);
    assert.deepEqual(v2.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 4] }]);

    assert.ok(existsSync(join(modelsDir, name, '2', 'model.onnx')));
    assert.ok(!existsSync(join(modelsDir, name, '1')), 'the old version is removed');
    assert.equal((await modelNames()).filter((n) => n === name).length, 1);

    const pred = await postJson(url(`/api/v1/models/${name}/prediction`), { values: [1, 2, 3, 4] });
    assert.equal(pred.status, 200);
    assert.deepEqual(((await pred.json()) as Prediction).values, [[4.5, 5.5]]);
  });

  test('garbage bytes are 400 INVALID_MODEL_FILE and leave nothing behind', async () => {
    const before = await snapshot();
    const res = await uploadBytes('garbage.onnx', Buffer.from('this is definitely not an ONNX protobuf '.repeat(50)));
    await assertError(res, 400, 'INVALID_MODEL_FILE', /not a valid model/);
    await assertNothingNew(before);
    assert.ok(!existsSync(join(modelsDir, 'garbage.onnx')));
    await assertError(await fetch(url('/api/v1/models/garbage.onnx')), 404, 'MODEL_NOT_FOUND');
  });

  test('random binary bytes are 400 INVALID_MODEL_FILE too', async () => {
    const before = await snapshot();
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256);
    await assertError(await uploadBytes('binary-garbage.onnx', bytes), 400, 'INVALID_MODEL_FILE');
    await assertNothingNew(before);
  });

  test('a garbage replacement keeps the existing version serving', async () => {
    const name = 'keep-on-bad-replace.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    const before = await snapshot();
    await assertError(await uploadBytes(name, Buffer.from('garbage')), 400, 'INVALID_MODEL_FILE');
    await assertNothingNew(before);
    assert.deepEqual(readdirSync(join(modelsDir, name)), ['1'], 'no half-written version 2');
    const { body } = await getJson(`/api/v1/models/${name}`);
    assert.equal(body.version, 1);
    const pred = await postJson(url(`/api/v1/models/${name}/prediction`), { values: SETOSA });
    assert.deepEqual(((await pred.json()) as Prediction).values, [0]);
    // The next good upload is version 2: the failed one did not use up a version.
    const res = await uploadModel(server.url, name, server.models.iris!);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as ModelInfo).version, 2);
  });

  test('an empty file is 400 EMPTY_UPLOAD and leaves nothing behind', async () => {
    const before = await snapshot();
    await assertError(await uploadBytes('empty.onnx', new Uint8Array(0)), 400, 'EMPTY_UPLOAD', /empty/);
    await assertNothingNew(before);
  });

  test('a file in the wrong multipart field is 400 naming the right field', async () => {
    const before = await snapshot();
    await assertError(await uploadBytes('wrong-field.onnx', readFileSync(server.models.iris!), 'model'), 400, 'BAD_REQUEST', /'path'/);
    await assertNothingNew(before);
  });

  test('a multipart body with no file is 400', async () => {
    const before = await snapshot();
    const form = new FormData();
    form.append('path', 'not a file, just text');
    const res = await fetch(url('/api/v1/models/no-file.onnx'), { method: 'PUT', body: form });
    assert.equal(res.status, 400, await res.clone().text());
    assertEnvelope(await res.json(), 400, 'Bad Request');
    await assertNothingNew(before);
  });

  test('a non-multipart PUT is 415 explaining how to upload', async () => {
    const before = await snapshot();
    const bytes = readFileSync(server.models.iris!);
    await assertError(
      await fetch(url('/api/v1/models/raw.onnx'), { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
      415, 'UNSUPPORTED_MEDIA_TYPE');
    await assertError(await postJson(url('/api/v1/models/raw.onnx'), { path: 'model.onnx' }, 'PUT'), 415, 'UNSUPPORTED_MEDIA_TYPE', /multipart\/form-data/);
    await assertNothingNew(before);
  });

  test('path-traversal and malformed names are 400 INVALID_MODEL_NAME and touch nothing', async () => {
    const before = await snapshot();
    const homeBefore = readdirSync(server.home).sort();
    const bytes = readFileSync(server.models.iris!);
    const form = new FormData();
    form.append('path', new Blob([bytes]), 'model.onnx');
    const { body, contentType } = await multipartBody(form);
    for (const encoded of [
      '..%2F..%2Fetc', '..%2Fescape.onnx', '..', '%2E%2E', '.hidden', '.incoming', '..%5C..%5Cwin', 'a..b', 'has%20space',
      'semi%3Bcolon', '-leading-dash', 'x'.repeat(200), 'nul%00byte', '%C3%A9t%C3%A9',
    ]) {
      const res = await rawRequest(url(`/api/v1/models/${encoded}`), 'PUT', { 'content-type': contentType }, body);
      await assertError(res, 400, 'INVALID_MODEL_NAME', /Invalid model name/);
    }
    await assertNothingNew(before);
    assert.deepEqual(readdirSync(server.home).sort(), homeBefore, 'nothing written next to the models directory');
  });

  test('a 128-character name is the longest allowed', async () => {
    const name = `m${'x'.repeat(127)}`;
    const res = await uploadModel(server.url, name, server.models.iris!);
    assert.equal(res.status, 201);
    await assertError(await uploadModel(server.url, `${name}y`, server.models.iris!), 400, 'INVALID_MODEL_NAME');
  });
});

// ---------- delete ----------

describe('DELETE /api/v1/models/<name>', () => {
  test('deletes the model: gone from the list, its files and its routes', async () => {
    const name = 'delete-me.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    assert.equal((await postJson(url(`/api/v1/models/${name}/prediction`), { values: SETOSA })).status, 200);

    const res = await fetch(url(`/api/v1/models/${name}`), { method: 'DELETE' });
    assert.equal(res.status, 200);
    const body = assertEnvelope(await res.json(), 200, 'OK');
    assert.match(body.http_status.description, /delete-me\.onnx deleted/);

    assert.ok(!(await modelNames()).includes(name));
    assert.ok(!existsSync(join(modelsDir, name)), 'its directory is removed');
    await assertError(await fetch(url(`/api/v1/models/${name}`)), 404, 'MODEL_NOT_FOUND');
    await assertError(await postJson(url(`/api/v1/models/${name}/prediction`), { values: SETOSA }), 404, 'MODEL_NOT_FOUND');
    await assertError(await getWithJsonBody(url(`/api/v1/models/${name}/prediction`), { values: SETOSA }), 404, 'MODEL_NOT_FOUND');
    await assertError(await fetch(url(`/api/v1/models/${name}/config`)), 404, 'MODEL_NOT_FOUND');
  });

  test('deleting twice or an unknown model is 404', async () => {
    const name = 'delete-twice.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    assert.equal((await fetch(url(`/api/v1/models/${name}`), { method: 'DELETE' })).status, 200);
    await assertError(await fetch(url(`/api/v1/models/${name}`), { method: 'DELETE' }), 404, 'MODEL_NOT_FOUND');
    await assertError(await fetch(url('/api/v1/models/never-existed.onnx'), { method: 'DELETE' }), 404, 'MODEL_NOT_FOUND');
  });

  test('a deleted name can be uploaded again and starts at version 1', async () => {
    const name = 'delete-reupload.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 200);
    assert.equal((await fetch(url(`/api/v1/models/${name}`), { method: 'DELETE' })).status, 200);
    const res = await uploadModel(server.url, name, server.models.iris!);
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as ModelInfo).version, 1);
    const pred = await postJson(url(`/api/v1/models/${name}/prediction`), { values: VIRGINICA });
    assert.deepEqual(((await pred.json()) as Prediction).values, [2]);
  });
});

// ---------- JSON prediction ----------

describe('prediction from JSON values', () => {
  const predictUrl = (model = 'iris.onnx') => url(`/api/v1/models/${model}/prediction`);

  test('GET with a JSON body, as MLBuffet documents it: one sample', async () => {
    const res = await getWithJsonBody(predictUrl(), { values: SETOSA });
    assert.equal(res.status, 200);
    const body = assertEnvelope(res.json, 200, 'OK');
    assert.equal(body.http_status.description, 'Prediction successful');
    assert.deepEqual(body.values, [0]);
    const outputs = body.outputs as { label: number[]; probabilities: number[][] };
    assert.deepEqual(Object.keys(outputs).sort(), ['label', 'probabilities']);
    assert.deepEqual(outputs.label, [0]);
    assert.equal(outputs.probabilities.length, 1);
    assert.equal(outputs.probabilities[0]!.length, 3);
    assert.ok(Math.abs(sum(outputs.probabilities[0]!) - 1) < 1e-5);
    assert.equal(argmax(outputs.probabilities[0]!), 0);
  });

  test('POST gives the same answer as GET', async () => {
    for (const [sample, label] of [[SETOSA, 0], [VERSICOLOR, 1], [VIRGINICA, 2]] as const) {
      const res = await postJson(predictUrl(), { values: sample });
      assert.equal(res.status, 200);
      const post = (await res.json()) as Prediction;
      assert.deepEqual(post.values, [label], `${sample} is class ${label}`);
      const get = await getWithJsonBody(predictUrl(), { values: sample });
      assert.deepEqual((get.json as Prediction).outputs, post.outputs);
    }
  });

  test('a batch of samples as nested lists', async () => {
    const res = await postJson(predictUrl(), { values: [SETOSA, VIRGINICA, VERSICOLOR] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Prediction;
    assert.deepEqual(body.values, [0, 2, 1]);
    const probs = (body.outputs as { probabilities: number[][] }).probabilities;
    assert.equal(probs.length, 3);
    assert.deepEqual(probs.map(argmax), [0, 2, 1]);
  });

  test('a batch of samples as one flat list', async () => {
    const res = await postJson(predictUrl(), { values: [...SETOSA, ...VIRGINICA] });
    const body = (await res.json()) as Prediction;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.values, [0, 2]);
    const get = await getWithJsonBody(predictUrl(), { values: [...VIRGINICA, ...SETOSA, ...VERSICOLOR] });
    assert.equal(get.status, 200, JSON.stringify(get.json));
    assert.deepEqual((get.json as Prediction).values, [2, 0, 1]);
  });

  test('integers are accepted as float values', async () => {
    const res = await postJson(predictUrl(), { values: [7, 3, 6, 2] });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Prediction).values, [2]);
  });

  test('a model without a batch dimension: one sample, flat or nested', async () => {
    for (const values of [[1, 2, 3, 4], [[1, 2, 3, 4]]]) {
      const res = await postJson(predictUrl('fixed.onnx'), { values });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Prediction;
      assert.deepEqual(body.values, [[4.5, 5.5]]);
      assert.deepEqual(body.outputs, { y: [[4.5, 5.5]] });
    }
    await assertError(await postJson(predictUrl('fixed.onnx'), { values: [[1, 2, 3, 4], [5, 6, 7, 8]] }), 400, 'INVALID_INPUT', /\[1,4\]/);
  });

  test('{"inputs": {...}} for the multi-input model returns every output', async () => {
    const res = await postJson(predictUrl('multi.onnx'), { inputs: { a: [[1, 2, 3], [0.5, 0, -1]], b: [[1, 1, 1], [2, -3, 4]] } });
    assert.equal(res.status, 200);
    const body = assertEnvelope(await res.json(), 200, 'OK') as unknown as Prediction;
    assert.deepEqual(body.values, [[2, 3, 4], [2.5, -3, 3]], '"values" is the first output');
    assert.deepEqual(body.outputs, { sum: [[2, 3, 4], [2.5, -3, 3]], doubled: [[2, 4, 6], [1, 0, -2]] });

    const get = await getWithJsonBody(predictUrl('multi.onnx'), { inputs: { a: [1, 2, 3], b: [4, 5, 6] } });
    assert.equal(get.status, 200);
    assert.deepEqual((get.json as Prediction).outputs, { sum: [[5, 7, 9]], doubled: [[2, 4, 6]] });
  });

  test('{"inputs": {...}} works for a one-input model too', async () => {
    const res = await postJson(predictUrl(), { inputs: { float_input: [SETOSA, VIRGINICA] } });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Prediction).values, [0, 2]);
  });

  test('multi-input errors: "values", a missing input, an unknown input, a non-integer INT32, mismatched batches', async () => {
    await assertError(await postJson(predictUrl('multi.onnx'), { values: [1, 2, 3] }), 400, 'INVALID_INPUT', /2 inputs/);
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: { a: [1, 2, 3] } }), 400, 'INVALID_INPUT', /Missing input 'b'/);
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: { a: [1, 2, 3], b: [1, 2, 3], c: [1, 2, 3] } }), 400, 'INVALID_INPUT', /no input 'c'/);
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: { a: [1, 2, 3], b: [1.5, 2, 3] } }), 400, 'INVALID_INPUT', /integer/);
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: { a: [[1, 2, 3], [4, 5, 6]], b: [1, 2, 3] } }), 400, 'INVALID_INPUT', /batch size/);
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: [1, 2, 3] }), 400, 'INVALID_INPUT');
    await assertError(await postJson(predictUrl('multi.onnx'), { inputs: {} }), 400, 'INVALID_INPUT', /Missing input/);
  });

  test('the wrong number of values is 400 INVALID_INPUT naming the expected shape', async () => {
    for (const values of [[1, 2, 3], [1, 2, 3, 4, 5], [[1, 2, 3], [4, 5, 6]], [[[1, 2, 3, 4]]], [[[[1, 2, 3, 4]]]]]) {
      const res = await postJson(predictUrl(), { values });
      await assertError(res, 400, 'INVALID_INPUT', /float_input/);
    }
    const get = await getWithJsonBody(predictUrl(), { values: [1, 2, 3] });
    await assertError(get, 400, 'INVALID_INPUT', /\[-1,4\]/);
  });

  test('non-numeric values are 400 INVALID_INPUT naming the element', async () => {
    await assertError(await postJson(predictUrl(), { values: ['a', 'b', 'c', 'd'] }), 400, 'INVALID_INPUT', /element 0/);
    await assertError(await postJson(predictUrl(), { values: [5.1, '3.5', 1.4, 0.2] }), 400, 'INVALID_INPUT', /element 1/);
    await assertError(await postJson(predictUrl(), { values: [5.1, 3.5, null, 0.2] }), 400, 'INVALID_INPUT', /element 2/);
    await assertError(await postJson(predictUrl(), { values: [5.1, 3.5, 1.4, true] }), 400, 'INVALID_INPUT', /element 3/);
    await assertError(await postJson(predictUrl(), { values: [{}, {}, {}, {}] }), 400, 'INVALID_INPUT');
  });

  test('empty values are 400 INVALID_INPUT', async () => {
    await assertError(await postJson(predictUrl(), { values: [] }), 400, 'INVALID_INPUT', /non-empty/);
    await assertError(await postJson(predictUrl(), { values: [[]] }), 400, 'INVALID_INPUT');
    await assertError(await postJson(predictUrl(), { values: [[], []] }), 400, 'INVALID_INPUT');
    await assertError(await getWithJsonBody(predictUrl(), { values: [] }), 400, 'INVALID_INPUT');
  });

  test('values that are not a list are 400', async () => {
    for (const values of [5, 'values', { a: 1 }, null]) {
      await assertError(await postJson(predictUrl(), { values }), 400, 'INVALID_INPUT', /non-empty list/);
    }
  });

  test('ragged nested lists are 400 INVALID_INPUT', async () => {
    await assertError(await postJson(predictUrl(), { values: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0]] }), 400, 'INVALID_INPUT', /ragged/);
    await assertError(await postJson(predictUrl(), { values: [[5.1, 3.5, 1.4, 0.2], 6.7, 3.0, 5.2, 2.3] }), 400, 'INVALID_INPUT', /ragged/);
    await assertError(await postJson(predictUrl(), { values: [5.1, [3.5, 1.4], 0.2, 1] }), 400, 'INVALID_INPUT', /ragged/);
  });

  test('a body without values or inputs is 400 explaining what to send', async () => {
    await assertError(await postJson(predictUrl(), {}), 400, 'BAD_REQUEST', /"values"/);
    await assertError(await postJson(predictUrl(), { data: SETOSA }), 400, 'BAD_REQUEST', /"values"/);
    await assertError(await fetch(predictUrl(), { method: 'POST' }), 400, 'BAD_REQUEST');
  });

  test('malformed JSON is 400 INVALID_JSON, by POST and by GET', async () => {
    const bad = '{"values": [5.1, 3.5, 1.4';
    await assertError(await fetch(predictUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: bad }), 400, 'INVALID_JSON');
    await assertError(await rawRequest(predictUrl(), 'GET', { 'content-type': 'application/json' }, bad), 400, 'INVALID_JSON');
    // An empty body is no body (clients set Content-Type by habit): the route says what to send.
    await assertError(await rawRequest(predictUrl(), 'POST', { 'content-type': 'application/json' }, ''), 400, 'BAD_REQUEST', /"values"/);
  });

  test('a plain-text body is 400 explaining what to send; an unknown content type is 415', async () => {
    await assertError(await fetch(predictUrl(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '5.1,3.5,1.4,0.2' }), 400, 'BAD_REQUEST', /"values"/);
    await assertError(await fetch(predictUrl(), { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<values/>' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('an unknown model is 404 MODEL_NOT_FOUND by GET and POST', async () => {
    await assertError(await postJson(predictUrl('nope.onnx'), { values: SETOSA }), 404, 'MODEL_NOT_FOUND', /nope\.onnx/);
    await assertError(await getWithJsonBody(predictUrl('nope.onnx'), { values: SETOSA }), 404, 'MODEL_NOT_FOUND', /nope\.onnx/);
  });

  test('concurrent predictions each get their own answer', async () => {
    const samples = Array.from({ length: 24 }, (_, i) => [SETOSA, VERSICOLOR, VIRGINICA][i % 3]!);
    const results = await Promise.all(samples.map((values) => postJson(predictUrl(), { values }).then((r) => r.json() as Promise<Prediction>)));
    assert.deepEqual(results.map((r) => r.values), samples.map((_, i) => [i % 3]));
  });
});

// ---------- image prediction ----------

describe('prediction from an image', () => {
  test('a PNG in multipart field "file" on the CNN gives [1,10] probabilities', async () => {
    const res = await predictImage('cnn.onnx', await png('red'));
    assert.equal(res.status, 200, await res.clone().text());
    const body = assertEnvelope(await res.json(), 200, 'OK') as unknown as Prediction;
    const values = body.values as number[][];
    assert.equal(values.length, 1);
    assert.equal(values[0]!.length, 10);
    assert.ok(values[0]!.every((v) => typeof v === 'number' && v >= 0 && v <= 1));
    assert.ok(Math.abs(sum(values[0]!) - 1) < 1e-4, `probabilities sum to ${sum(values[0]!)}`);
    assert.deepEqual(body.outputs, { probabilities: values });
  });

  test('the prediction depends on the pixels and is deterministic', async () => {
    const red1 = ((await (await predictImage('cnn.onnx', await png('red'))).json()) as Prediction).values as number[][];
    const red2 = ((await (await predictImage('cnn.onnx', await png('red', 80, 20))).json()) as Prediction).values as number[][];
    const blue = ((await (await predictImage('cnn.onnx', await png('blue'))).json()) as Prediction).values as number[][];
    assert.deepEqual(red1, red2, 'a solid image resized to 32x32 is the same input whatever its size');
    assert.notDeepEqual(red1, blue);
  });

  test('JPEG and RGBA images are accepted', async () => {
    const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: 'green' } }).jpeg().toBuffer();
    const rgba = await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 0.5 } } }).png().toBuffer();
    for (const image of [jpeg, rgba]) {
      const res = await predictImage('cnn.onnx', image);
      assert.equal(res.status, 200, await res.clone().text());
      const values = ((await res.json()) as Prediction).values as number[][];
      assert.ok(Math.abs(sum(values[0]!) - 1) < 1e-4);
    }
  });

  test('GET with a multipart image, as MLBuffet documents it', async () => {
    const form = new FormData();
    form.append('file', new Blob([await png('red')], { type: 'image/png' }), 'dog.png');
    const { body, contentType } = await multipartBody(form);
    const res = await rawRequest(url('/api/v1/models/cnn.onnx/prediction'), 'GET', { 'content-type': contentType }, body);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const post = ((await (await predictImage('cnn.onnx', await png('red'))).json()) as Prediction).values;
    assert.deepEqual((res.json as Prediction).values, post);
  });

  test('garbage image bytes are 400 INVALID_IMAGE', async () => {
    await assertError(await predictImage('cnn.onnx', Buffer.from('not an image at all, just text')), 400, 'INVALID_IMAGE', /decoded/);
    const png1 = await png('red');
    await assertError(await predictImage('cnn.onnx', png1.subarray(0, 40)), 400, 'INVALID_IMAGE');
  });

  test('an empty image is 400 EMPTY_UPLOAD', async () => {
    await assertError(await predictImage('cnn.onnx', new Uint8Array(0)), 400, 'EMPTY_UPLOAD');
  });

  test('an image in the wrong field is 400 naming "file"', async () => {
    await assertError(await predictImage('cnn.onnx', await png('red'), 'image'), 400, 'BAD_REQUEST', /'file'/);
  });

  test('an image to a non-image model is 400 INVALID_INPUT', async () => {
    await assertError(await predictImage('iris.onnx', await png('red')), 400, 'INVALID_INPUT', /not an image input/);
    await assertError(await predictImage('fixed.onnx', await png('red')), 400, 'INVALID_INPUT', /not an image input/);
    await assertError(await predictImage('multi.onnx', await png('red')), 400, 'INVALID_INPUT', /2 inputs/);
  });

  test('an image to an unknown model is 404', async () => {
    await assertError(await predictImage('no-cnn.onnx', await png('red')), 404, 'MODEL_NOT_FOUND');
  });
});

// ---------- batching config ----------

describe('GET/PATCH /api/v1/models/<name>/config', () => {
  test('GET shows the effective batching settings', async () => {
    const { status, body } = await getJson('/api/v1/models/iris.onnx/config');
    assert.equal(status, 200);
    assertEnvelope(body, 200, 'OK');
    assert.deepEqual(body.dynamic_batching, { max_batch_size: 32, max_queue_delay_microseconds: 0 });
    const fixed = await getJson('/api/v1/models/fixed.onnx/config');
    assert.deepEqual(fixed.body.dynamic_batching, { max_batch_size: 1, max_queue_delay_microseconds: 0 });
  });

  test('PATCH changes one or both settings, which GET and the model view then show', async () => {
    const name = 'config-patch.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    const configUrl = url(`/api/v1/models/${name}/config`);

    let res = await postJson(configUrl, { max_batch_size: 8 }, 'PATCH');
    assert.equal(res.status, 200);
    let body = assertEnvelope(await res.json(), 200, 'OK');
    assert.match(body.http_status.description, /config-patch\.onnx/);
    assert.deepEqual(body.dynamic_batching, { max_batch_size: 8, max_queue_delay_microseconds: 0 });

    res = await postJson(configUrl, { max_queue_delay_microseconds: 2000 }, 'PATCH');
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Envelope).dynamic_batching, { max_batch_size: 8, max_queue_delay_microseconds: 2000 });

    res = await postJson(configUrl, { max_batch_size: 0, max_queue_delay_microseconds: 0 }, 'PATCH');
    assert.equal(res.status, 200);
    body = (await getJson(`/api/v1/models/${name}/config`)).body;
    assert.deepEqual(body.dynamic_batching, { max_batch_size: 0, max_queue_delay_microseconds: 0 });

    res = await postJson(configUrl, { max_batch_size: 4, max_queue_delay_microseconds: 500 }, 'PATCH');
    assert.equal(res.status, 200);
    const view = (await getJson(`/api/v1/models/${name}`)).body as unknown as ModelInfo;
    assert.deepEqual(view.dynamic_batching, { max_batch_size: 4, max_queue_delay_microseconds: 500 });

    // An empty patch changes nothing.
    res = await postJson(configUrl, {}, 'PATCH');
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Envelope).dynamic_batching, { max_batch_size: 4, max_queue_delay_microseconds: 500 });

    // The model still predicts with the new settings.
    const pred = await postJson(url(`/api/v1/models/${name}/prediction`), { values: [SETOSA, VIRGINICA] });
    assert.deepEqual(((await pred.json()) as Prediction).values, [0, 2]);
  });

  test('PATCH with bad values is 400 and changes nothing', async () => {
    const name = 'config-bad.onnx';
    assert.equal((await uploadModel(server.url, name, server.models.iris!)).status, 201);
    const configUrl = url(`/api/v1/models/${name}/config`);
    assert.equal((await postJson(configUrl, { max_batch_size: 16 }, 'PATCH')).status, 200);

    for (const bad of [
      { max_batch_size: -1 },
      { max_batch_size: 1.5 },
      { max_batch_size: 'eight' },
      { max_batch_size: '8' },
      { max_batch_size: null },
      { max_batch_size: 65537 },
      { max_queue_delay_microseconds: -5 },
      { max_queue_delay_microseconds: 10_000_001 },
      { max_batch_size: 8, max_queue_delay_microseconds: 'soon' },
      { max_batch_sise: 8 },
      [8],
      'max_batch_size=8',
    ]) {
      await assertError(await postJson(configUrl, bad, 'PATCH'), 400, 'BAD_REQUEST');
    }
    const bad = await fetch(configUrl, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"max_batch_size": ' });
    await assertError(bad, 400, 'INVALID_JSON');

    const { body } = await getJson(`/api/v1/models/${name}/config`);
    assert.deepEqual(body.dynamic_batching, { max_batch_size: 16, max_queue_delay_microseconds: 0 });
  });

  test('config of an unknown model is 404', async () => {
    await assertError(await fetch(url('/api/v1/models/nobody.onnx/config')), 404, 'MODEL_NOT_FOUND');
    await assertError(await postJson(url('/api/v1/models/nobody.onnx/config'), { max_batch_size: 4 }, 'PATCH'), 404, 'MODEL_NOT_FOUND');
  });
});

// ---------- upload size limit ----------

describe('upload and body size limits', () => {
  let small: TestServer;
  before(async () => { small = await startTestServer({ maxUploadBytes: 1024, maxBodyBytes: 4096 }); });
  after(async () => { await small.close(); });

  test('a model over maxUploadBytes is 413 and leaves nothing behind', async () => {
    const smallModels = join(small.home, 'models');
    assert.ok(statSync(small.models.cnn!).size > 1024, 'the CNN fixture is bigger than 1 KiB');
    const res = await uploadModel(small.url, 'too-big.onnx', small.models.cnn!);
    assert.equal(res.status, 413);
    const body = assertEnvelope(await res.json(), 413, 'Payload Too Large');
    assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
    assert.match(body.http_status.description, /CORRAL_MAX_UPLOAD_MB/);

    const list = (await (await fetch(`${small.url}/api/v1/models`)).json()) as Envelope;
    assert.deepEqual(list.model_list, []);
    assert.deepEqual(readdirSync(smallModels).filter((e) => e !== '.incoming'), []);
    const incoming = join(smallModels, '.incoming');
    assert.deepEqual(existsSync(incoming) ? readdirSync(incoming) : [], []);
  });

  test('the same server still accepts a model under the limit', async () => {
    const res = await uploadModel(small.url, 'too-big.onnx', small.models.cnn!);
    assert.equal(res.status, 413);
    // The iris model is a few hundred bytes.
    assert.ok(statSync(small.models.iris!).size <= 1024);
    const ok = await uploadModel(small.url, 'iris.onnx', small.models.iris!);
    assert.equal(ok.status, 201);
    const pred = await postJson(`${small.url}/api/v1/models/iris.onnx/prediction`, { values: SETOSA });
    assert.deepEqual(((await pred.json()) as Prediction).values, [0]);
  });

  test('a JSON body over maxBodyBytes is 413 naming the setting to raise', async () => {
    const values = Array.from({ length: 1000 }, () => SETOSA);
    const res = await postJson(`${small.url}/api/v1/models/iris.onnx/prediction`, { values });
    assert.equal(res.status, 413);
    const body = assertEnvelope(await res.json(), 413, 'Payload Too Large');
    assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
    assert.match(body.http_status.description, /CORRAL_MAX_BODY_MB/);
    // Under the limit the same server answers.
    const ok = await postJson(`${small.url}/api/v1/models/iris.onnx/prediction`, { values: values.slice(0, 10) });
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as Prediction).values, new Array(10).fill(0));
  });
});
