// Route schemas compile on a route's first request (gateway/lazy-validators.ts): these
// tests make sure every schema still compiles, and that a lazily compiled validator
// answers a bad request exactly as an eagerly compiled one did.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server?.close(); });

test("the first request of a route is validated by its just-compiled schema, with ajv's message", async () => {
  const res = await postJson(`${server.url}/api/services`, { name: 'k0', task: 'keyterms', replicas: 0 });
  const body = await res.json() as { error: string };
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.match(JSON.stringify(body), /replicas.*>= 1/);
  // Compiled now: the same answer again, and a valid request passes.
  const again = await postJson(`${server.url}/api/services`, { name: 'k0', task: 'keyterms', replicas: 0 });
  assert.equal(again.status, 400);
  assert.deepEqual(await again.json(), body);
});

test('every route schema compiles', () => {
  server.app.compileRouteSchemas();
  // Idempotent: nothing is left to compile.
  server.app.compileRouteSchemas();
  assert.ok(server.app.routeTable.length > 100, `${server.app.routeTable.length} routes`);
});
