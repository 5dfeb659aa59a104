/**
 * An empty body is no body, whatever Content-Type the client sets: the `ollama`
 * client sends `Content-Type: application/json` on its GETs, and fetch-based
 * clients do on DELETEs. Existing routes answer them as if no header were sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import type { TestServer } from '../helpers/test-server.js';
import { bearer, rawRequest, startAuthServer } from '../auth/auth-helpers.js';

let server: TestServer & { adminKey: string };
before(async () => { server = await startAuthServer({ workers: 1 }); });
after(async () => { await server?.close(); });

/** The same request with no Content-Type and with `application/json` (no body, a zero Content-Length, a chunked empty body). */
async function answers(method: string, path: string) {
  const headers = bearer(server.adminKey);
  const url = `${server.url}${path}`;
  const plain = await rawRequest(url, { method, headers });
  const variants = [
    await rawRequest(url, { method, headers: { ...headers, 'content-type': 'application/json' } }),
    await rawRequest(url, { method, headers: { ...headers, 'content-type': 'application/json', 'content-length': '0' } }),
    await rawRequest(url, { method, headers: { ...headers, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }),
    await rawRequest(url, { method, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body: '' }),
  ];
  return { plain, variants };
}

describe('an empty body with Content-Type: application/json is no body', () => {
  for (const path of ['/v1/models', '/api/services', '/api/services/embed', '/api/v1/models', '/v2', '/api/tags', '/api/version']) {
    test(`GET ${path}`, async () => {
      const { plain, variants } = await answers('GET', path);
      assert.equal(plain.status, 200, plain.body);
      for (const v of variants) {
        assert.equal(v.status, 200, v.body);
        // Listings carry no times that change between calls: the same answer.
        assert.deepEqual(JSON.parse(v.body), JSON.parse(plain.body));
      }
    });
  }

  test('HEAD /v1/models', async () => {
    const { plain, variants } = await answers('HEAD', '/v1/models');
    assert.equal(plain.status, 200);
    for (const v of variants) assert.deepEqual([v.status, v.body], [200, '']);
  });

  test('DELETE /api/services/<name> deletes with an empty JSON body, and 404s after', async () => {
    const created = await fetch(`${server.url}/api/services?wait=true`, {
      method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'doomed', task: 'keyterms' }),
    });
    assert.equal(created.status, 201, await created.text());
    const deleted = await rawRequest(`${server.url}/api/services/doomed`, { method: 'DELETE', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' } });
    assert.equal(deleted.status, 200, deleted.body);
    assert.equal((JSON.parse(deleted.body) as { name: string }).name, 'doomed');
    const again = await rawRequest(`${server.url}/api/services/doomed`, { method: 'DELETE', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: '' });
    assert.deepEqual([again.status, JSON.parse(again.body)], [404, { error: "No service 'doomed'. List services with GET /api/services.", code: 'SERVICE_NOT_FOUND' }]);
  });

  test('a body that is not empty is still parsed, and bad JSON is still 400', async () => {
    const bad = await rawRequest(`${server.url}/api/services`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { code: string }).code, 'INVALID_JSON');
    // An empty POST body is no body: the route says a JSON object is wanted.
    const empty = await rawRequest(`${server.url}/api/services`, { method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/json' } });
    assert.deepEqual([empty.status, JSON.parse(empty.body)], [400, { error: 'The body must be a JSON object; this one is empty or not an object.', code: 'BAD_REQUEST' }]);
  });

  test('the ollama client\'s GETs (Content-Type: application/json, no body) answer', async () => {
    const client = new Ollama({ host: server.url, headers: bearer(server.adminKey) });
    assert.deepEqual((await client.list()).models.map((m) => m.name), ['embed:latest']);
    assert.ok(Array.isArray((await client.ps()).models));
    assert.equal(typeof (await client.version()).version, 'string');
  });
});
