import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
});
after(async () => { await server.close(); });

interface ServiceView { id: string; name: string; task: string; runtime: string; status: string; reason: string | null; revision: string | null; model_path: string }

describe('service management', () => {
  test('built-in services and repository models are listed as services', async () => {
    const list = await (await fetch(`${server.url}/api/services`)).json() as ServiceView[];
    const byName = new Map(list.map((s) => [s.name, s]));
    assert.equal(byName.get('embed')?.runtime, 'embed');
    assert.equal(byName.get('embed')?.task, 'feature-extraction');
    assert.equal(byName.get('keyterms')?.task, 'keyterms');
    assert.equal(byName.get('ocr')?.task, 'ocr');
    assert.equal(byName.get('iris.onnx')?.runtime, 'onnx');
    assert.equal(byName.get('iris.onnx')?.task, 'tensor');
    const filtered = await (await fetch(`${server.url}/api/services?task=ocr`)).json() as ServiceView[];
    assert.deepEqual(filtered.map((s) => s.name), ['ocr']);
  });

  test('describe by name and by id; unknown is 404', async () => {
    const byName = await (await fetch(`${server.url}/api/services/keyterms`)).json() as ServiceView;
    const byId = await (await fetch(`${server.url}/api/services/${byName.id}`)).json() as ServiceView;
    assert.equal(byId.name, 'keyterms');
    const missing = await fetch(`${server.url}/api/services/nope`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /No service 'nope'/);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown task', { name: 'x1', task: 'telepathy' }, /Unknown task 'telepathy'/],
    ['runtime that cannot do the task', { name: 'x2', task: 'ocr', runtime: 'transformers', model: '/tmp' }, /cannot do ocr/],
    ['transformers without model', { name: 'x3', task: 'feature-extraction', runtime: 'transformers' }, /needs "model"/],
    ['model neither a dir nor a hub id', { name: 'x4', task: 'text-generation', model: 'not a model!' }, /neither a directory/],
    ['hub id not cached while downloads are off', { name: 'x5', task: 'text-generation', model: 'org/absent-model' }, /not in any local Hugging Face cache/],
    ['bad name', { name: '../evil', task: 'keyterms' }, /Invalid model name/],
    ['unknown field', { name: 'x6', task: 'keyterms', colour: 'red' }, /colour|additional/i],
    ['zero replicas', { name: 'x7', task: 'keyterms', replicas: 0 }, /replicas/],
  ];
  for (const [what, body, message] of bad) {
    test(`create rejects ${what} with 400`, async () => {
      const res = await postJson(`${server.url}/api/services`, body);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, message);
    });
  }

  test('a name already taken by a service or a model is 409', async () => {
    for (const name of ['embed', 'iris.onnx']) {
      const res = await postJson(`${server.url}/api/services`, { name, task: 'keyterms' });
      assert.equal(res.status, 409);
      assert.equal((await res.json() as { code: string }).code, 'ALREADY_EXISTS', name);
    }
  });

  test('a model folder that does not load makes the service FAILED with the reason, and requests get 503', async () => {
    const dir = join(server.home, 'broken-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{"model_type": "bert"}');
    const res = await postJson(`${server.url}/api/services?wait=true`, { name: 'broken', task: 'feature-extraction', runtime: 'transformers', model: dir });
    assert.equal(res.status, 201);
    const created = await res.json() as ServiceView;
    assert.equal(created.status, 'FAILED');
    assert.ok(created.reason && created.reason.length > 0);
    const embed = await postJson(`${server.url}/embed`, { sentences: ['hello'], service: 'broken' });
    assert.equal(embed.status, 503);
    const refused = await embed.json() as { error: string; code: string };
    assert.equal(refused.code, 'SERVICE_NOT_READY');
    assert.match(refused.error, /is FAILED/);
    const del = await fetch(`${server.url}/api/services/broken`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await fetch(`${server.url}/api/services/broken`)).status, 404);
  });

  test('repository models cannot be deleted through the services API', async () => {
    const res = await fetch(`${server.url}/api/services/iris.onnx`, { method: 'DELETE' });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /DELETE \/api\/v1\/models\/iris.onnx/);
  });
});

describe('task routes reject bad input before any model runs', () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['/embed', 'empty list', { sentences: [] }, /empty/],
    ['/embed', 'missing sentences', {}, /list of strings/],
    ['/embed', 'non-string items', { sentences: ['ok', 3] }, /\[1\] must be a string/],
    ['/embed', 'too many items', { sentences: Array(3000).fill('a') }, /at most 2048/],
    ['/embed', 'a huge sentence', { sentences: ['x'.repeat(100_001)] }, /at most 100000/],
    ['/embed', 'instruction count mismatch', { sentences: ['a', 'b'], instruction: ['x'] }, /one per sentence/],
    ['/embed', 'a service of another task', { sentences: ['a'], service: 'keyterms' }, /does keyterms, not feature-extraction/],
    ['/keyterms', 'a string instead of a list', { sentences: 'The sun.' }, /list of strings/],
    ['/ocr', 'no image', {}, /multipart field "file"/],
    ['/ocr', 'bad base64', { image: '***' }, /not valid base64/],
    ['/v1/embeddings', 'missing model', { input: 'a' }, /model/],
    ['/v1/embeddings', 'token arrays', { model: 'embed', input: [[1, 2]] }, /must be a string/],
    ['/v1/chat/completions', 'no text-generation service', { model: 'embed', messages: [{ role: 'user', content: 'hi' }] }, /does feature-extraction, not text-generation/],
    ['/v1/chat/completions', 'empty messages', { model: 'x', messages: [] }, /messages/],
    ['/generate', 'empty inputs', { inputs: '' }, /inputs/],
  ];
  for (const [route, what, body, message] of cases) {
    test(`${route}: ${what} → 400 with a message`, async () => {
      const res = await postJson(`${server.url}${route}`, body);
      assert.equal(res.status, 400);
      const json = await res.json() as { error: string | { message: string } };
      const text = typeof json.error === 'string' ? json.error : json.error.message;
      assert.match(text, message);
    });
  }

  test('/v1/* errors use the OpenAI envelope', async () => {
    const res = await postJson(`${server.url}/v1/embeddings`, { model: 'nope', input: 'a' });
    assert.equal(res.status, 404);
    const json = await res.json() as { error: { message: string; type: string; code: string } };
    assert.equal(json.error.type, 'not_found_error');
    assert.equal(json.error.code, 'service_not_found');
  });

  test('/generate with no text-generation service says how to start one', async () => {
    const res = await postJson(`${server.url}/generate`, { inputs: 'Hello', parameters: { max_new_tokens: 5 } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /No text-generation service is running/);
  });
});
