/**
 * Credentials: every accepted form works; wrong, expired and revoked keys are
 * 401 in the envelope of each API; scopes and model globs hold; the admin key
 * file is private.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../helpers/test-server.js';
import { uploadModelAs } from './upload-as.js';
import { bearer, createKey, startAuthServer } from './auth-helpers.js';

const run = promisify(execFile);
let server: TestServer & { adminKey: string };
let reader: string;
before(async () => {
  server = await startAuthServer();
  assert.equal((await uploadModelAs(server.url, 'iris.onnx', server.models.iris!, server.adminKey)).status, 201);
  reader = (await createKey(server.url, server.adminKey, { name: 'reader', scopes: ['read', 'infer'] })).key;
});
after(async () => { await server.close(); });

const models = (headers: Record<string, string>, query = '') => fetch(`${server.url}/api/v1/models${query}`, { headers });

describe('credentials', () => {
  test('the admin key file is the key the gateway printed, readable by its owner only', () => {
    const path = join(server.home, 'admin.key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, 'utf8').trim(), server.adminKey);
    assert.match(server.adminKey, /^corral_[A-Za-z0-9_-]{43}$/);
  });

  test('Bearer, X-API-Key, Basic with any user name, and ?token= on GET', async () => {
    assert.equal((await models(bearer(reader))).status, 200);
    assert.equal((await models({ 'x-api-key': reader })).status, 200);
    assert.equal((await models({ authorization: `Basic ${Buffer.from(`sloth:${reader}`).toString('base64')}` })).status, 200);
    assert.equal((await models({}, `?token=${encodeURIComponent(reader)}`)).status, 200);
  });

  test("Laminoid's curl -u sloth:<token> and http://sloth:<token>@host/ work unchanged", async () => {
    const u = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `sloth:${reader}`, `${server.url}/api/v1/models`]);
    assert.equal(u.stdout, '200');
    const inUrl = server.url.replace('http://', `http://sloth:${reader}@`);
    const url = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${inUrl}/v2/models/iris.onnx`]);
    assert.equal(url.stdout, '200');
  });

  test('?token= is refused on POST: query credentials are for GET only', async () => {
    const res = await fetch(`${server.url}/v2/models/iris.onnx/infer?token=${encodeURIComponent(reader)}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    assert.equal(res.status, 401);
    assert.match((await res.json() as { error: string }).error, /needs an API key/);
  });

  test('a wrong key is 401 INVALID_API_KEY in every API envelope, never anonymous access', async () => {
    const wrong = bearer('corral_not-a-real-key-000000000000000000000000000');
    const mlbuffet = await models(wrong);
    assert.equal(mlbuffet.status, 401);
    assert.deepEqual(await mlbuffet.json(), { http_status: { code: 401, description: 'The API key is not valid.', name: 'Unauthorized' }, error: 'INVALID_API_KEY' });
    const v2 = await fetch(`${server.url}/v2/models/iris.onnx`, { headers: wrong });
    assert.equal(v2.status, 401);
    assert.deepEqual(await v2.json(), { error: 'The API key is not valid.' });
    const openai = await fetch(`${server.url}/v1/models`, { headers: wrong });
    assert.equal(openai.status, 401);
    assert.deepEqual(await openai.json(), { error: { message: 'The API key is not valid.', type: 'authentication_error', param: null, code: 'invalid_api_key' } });
    const plain = await fetch(`${server.url}/api/services`, { headers: wrong });
    assert.equal(plain.status, 401);
    assert.deepEqual(await plain.json(), { error: 'The API key is not valid.', code: 'INVALID_API_KEY' });
    assert.match(plain.headers.get('www-authenticate')!, /^Bearer realm="corral", Basic realm="corral"/);
    // Malformed credentials are wrong credentials, not missing ones.
    assert.equal((await models({ authorization: 'Token abc' })).status, 401);
    assert.equal((await models({ authorization: 'Basic bm9jb2xvbg==' })).status, 401);
  });

  test('expired and revoked keys are 401 with their own codes', async () => {
    const expired = await createKey(server.url, server.adminKey, { name: 'old', scopes: ['read'], expires_at: '2020-01-01T00:00:00Z' });
    const res = await models(bearer(expired.key));
    assert.equal(res.status, 401);
    assert.equal((await res.json() as { error: string }).error, 'API_KEY_EXPIRED');

    const doomed = await createKey(server.url, server.adminKey, { name: 'doomed', scopes: ['read'] });
    assert.equal((await models(bearer(doomed.key))).status, 200);
    const revoke = await fetch(`${server.url}/api/keys/${doomed.id}`, { method: 'DELETE', headers: bearer(server.adminKey) });
    assert.equal(revoke.status, 200);
    assert.match((await revoke.json() as { revoked_at: string }).revoked_at, /^\d{4}-/);
    const after = await fetch(`${server.url}/v1/models`, { headers: bearer(doomed.key) });
    assert.equal(after.status, 401);
    assert.equal((await after.json() as { error: { code: string } }).error.code, 'api_key_revoked');
  });

  test('an imported secret (a Laminoid box token) works and is stored hashed, never in clear', async () => {
    const token = 'a3f9c2e4b5d6a7f8091a2b3c4d5e6f70';
    const imported = await createKey(server.url, server.adminKey, { name: 'laminoid-box', scopes: ['read'], secret: token });
    assert.equal(imported.key, token);
    assert.equal((await models({ authorization: `Basic ${Buffer.from(`sloth:${token}`).toString('base64')}` })).status, 200);
    const listed = await (await fetch(`${server.url}/api/keys/${imported.id}`, { headers: bearer(server.adminKey) })).json() as Record<string, unknown>;
    assert.equal(listed.imported, true);
    assert.equal('key' in listed, false);
    const db = readFileSync(join(server.home, 'corral.sqlite'));
    assert.equal(db.includes(Buffer.from(token)), false, 'the imported token is not in the database file');
    assert.equal(db.includes(Buffer.from(server.adminKey)), false, 'the admin key is not in the database file');
    const again = await fetch(`${server.url}/api/keys`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dup', scopes: ['read'], secret: token }) });
    assert.equal(again.status, 409);
  });

  test('key changes take effect at once: a scope removed is 403 on the next request', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'shrinking', scopes: ['read', 'metrics'] });
    assert.equal((await fetch(`${server.url}/metrics`, { headers: bearer(key.key) })).status, 200);
    const patch = await fetch(`${server.url}/api/keys/${key.id}`, { method: 'PATCH', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['read'] }) });
    assert.equal(patch.status, 200);
    const res = await fetch(`${server.url}/metrics`, { headers: bearer(key.key) });
    assert.equal(res.status, 403);
    assert.match((await res.json() as { error: string }).error, /lacks the 'metrics' scope/);
  });

  test('bad key requests are 400 with the field named', async () => {
    const post = (body: unknown) => fetch(`${server.url}/api/keys`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknown = await post({ name: 'x', scopes: ['root'] });
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json() as { error: string }).error, /unknown scope 'root'/);
    assert.equal((await post({ name: 'x', scopes: [] })).status, 400);
    assert.equal((await post({ name: 'x', scopes: ['read'], models: ['../etc'] })).status, 400);
    assert.equal((await post({ name: 'x', scopes: ['read'], secret: 'short' })).status, 400);
    assert.equal((await post({ name: 'x', scopes: ['read'], rate_limit: { requests_per_minute: 0 } })).status, 400);
    const missing = await fetch(`${server.url}/api/keys/no-such-key`, { headers: bearer(server.adminKey) });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json() as { code: string }).code, 'KEY_NOT_FOUND');
  });
});

describe('scopes and models', () => {
  test('a key limited to some models sees only those and gets 403 MODEL_NOT_ALLOWED for others', async () => {
    const irisOnly = await createKey(server.url, server.adminKey, { name: 'iris-only', scopes: ['read', 'infer'], models: ['iris*'] });
    const embedOnly = await createKey(server.url, server.adminKey, { name: 'embed-only', scopes: ['read', 'infer'], models: ['embed'] });
    const list = await (await models(bearer(irisOnly.key))).json() as { model_list: string[] };
    assert.deepEqual(list.model_list, ['iris.onnx']);
    const empty = await (await models(bearer(embedOnly.key))).json() as { model_list: string[] };
    assert.deepEqual(empty.model_list, []);
    const services = await (await fetch(`${server.url}/api/services`, { headers: bearer(embedOnly.key) })).json() as Array<{ name: string }>;
    assert.deepEqual(services.map((s) => s.name), ['embed']);

    const infer = (key: string) => fetch(`${server.url}/v2/models/iris.onnx/infer`, {
      method: 'POST', headers: { ...bearer(key), 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    assert.equal((await infer(irisOnly.key)).status, 200);
    const denied = await infer(embedOnly.key);
    assert.equal(denied.status, 403);
    assert.match((await denied.json() as { error: string }).error, /may not use 'iris.onnx'/);
    const keyterms = await fetch(`${server.url}/keyterms`, { method: 'POST', headers: { ...bearer(irisOnly.key), 'content-type': 'application/json' }, body: JSON.stringify({ sentences: ['hello'] }) });
    assert.equal(keyterms.status, 403);
    assert.equal((await keyterms.json() as { code: string }).code, 'MODEL_NOT_ALLOWED');
  });

  test('anonymous requests get 401 UNAUTHENTICATED; a key without the scope 403 FORBIDDEN naming it', async () => {
    const anon = await fetch(`${server.url}/api/services/embed/stop`, { method: 'POST' });
    assert.equal(anon.status, 401);
    assert.equal((await anon.json() as { code: string }).code, 'UNAUTHENTICATED');
    const res = await fetch(`${server.url}/api/services/embed/stop`, { method: 'POST', headers: bearer(reader) });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { error: "API key 'reader' lacks the 'services:operate' scope this route needs.", code: 'FORBIDDEN' });
  });

  test('a controller key (read + services:operate) may list, stop and start, but not create or delete', async () => {
    const controller = (await createKey(server.url, server.adminKey, { name: 'controller', scopes: ['read', 'services:operate'] })).key;
    const h = { ...bearer(controller), 'content-type': 'application/json' };
    assert.equal((await fetch(`${server.url}/api/services`, { headers: h })).status, 200);
    const stopped = await fetch(`${server.url}/api/services/keyterms/stop`, { method: 'POST', headers: h });
    assert.equal(stopped.status, 200);
    assert.equal((await stopped.json() as { status: string }).status, 'STOPPED');
    const started = await fetch(`${server.url}/api/services/keyterms/start?wait=true`, { method: 'POST', headers: h });
    assert.equal(started.status, 200);
    assert.equal((await started.json() as { status: string }).status, 'RUNNING');
    assert.equal((await fetch(`${server.url}/api/services`, { method: 'POST', headers: h, body: JSON.stringify({ name: 'x', task: 'keyterms' }) })).status, 403);
    assert.equal((await fetch(`${server.url}/api/services/keyterms`, { method: 'DELETE', headers: h })).status, 403);
  });

  test('the audit log records key changes and failed authentications with key and address', async () => {
    const res = await fetch(`${server.url}/api/audit?limit=500`, { headers: bearer(server.adminKey) });
    assert.equal(res.status, 200);
    const entries = await res.json() as Array<{ action: string; key_name: string | null; ip: string | null; target: string | null }>;
    const actions = new Set(entries.map((e) => e.action));
    for (const action of ['key.create', 'key.revoke', 'key.update', 'auth.failure', 'model.upload', 'service.stop', 'service.start']) assert.ok(actions.has(action), `audit has ${action}`);
    const revoke = entries.find((e) => e.action === 'key.revoke')!;
    assert.equal(revoke.key_name, 'admin');
    assert.equal(revoke.ip, '127.0.0.1');
    assert.equal(entries.find((e) => e.action === 'service.stop')!.key_name, 'controller');
    assert.equal((await fetch(`${server.url}/api/audit`, { headers: bearer(reader) })).status, 403);
  });

  test('metrics count requests and 401/403 per key name', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: bearer(server.adminKey) })).text();
    assert.match(text, /corral_key_requests_total\{key="reader",status="200"\} \d+/);
    assert.match(text, /corral_key_requests_total\{key="reader",status="403"\} [1-9]/);
    assert.match(text, /corral_key_requests_total\{key="",status="401"\} [1-9]/);
  });
});
