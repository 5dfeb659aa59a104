/**
 * The route table: every route the running gateway registered (HEAD and
 * wildcards included) has the decision docs/auth.md gives it; every non-public
 * route answers 401 without a key and 403 with a key that lacks its scope.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { SCOPES } from '../../src/auth/index.js';
import { requireAuthDecisions } from '../../src/gateway/security/route-auth.js';
import type { TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/scale-out.js';
import { bearer, createKey, startAuthServer } from './auth-helpers.js';

let server: TestServer & { adminKey: string };
before(async () => { server = await startAuthServer(); });
after(async () => { await server.close(); });

/** `| GET, HEAD | \`/path\` | decision |` rows of docs/auth.md's route table. */
function documentedRoutes(): Map<string, string> {
  const doc = readFileSync(new URL('../../docs/auth.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('## Route table'));
  const routes = new Map<string, string>();
  for (const [, methods, path, decision] of table.matchAll(/^\| ([A-Z, ]+) \| `([^`]+)` \| ([a-z:-]+)/gm)) {
    for (const method of methods!.split(',').map((m) => m.trim())) routes.set(`${method} ${path}`, decision!);
  }
  return routes;
}

const concrete = (url: string) => url.replace(':name', 'iris.onnx').replace(':version', '1').replace(':id', 'some-id').replace('*', 'embed');

describe('route table', () => {
  test('every registered route has the decision docs/auth.md lists, and the doc lists no route that does not exist', () => {
    const documented = documentedRoutes();
    const registered = new Map(server.app.routeTable.map((r) => [`${r.method} ${r.url}`, r.auth as string]));
    assert.ok([...registered.keys()].some((k) => k.startsWith('HEAD ')), 'HEAD routes are part of the table');
    for (const [route, decision] of registered) assert.equal(documented.get(route), decision, `${route}: docs/auth.md says ${documented.get(route)}, the gateway ${decision}`);
    // The CORS preflight exists only with CORRAL_CORS_ORIGINS; every other documented route is registered.
    assert.equal(documented.get('OPTIONS *'), 'public');
    assert.deepEqual([...registered.keys()].sort(), [...documented.keys()].filter((route) => route !== 'OPTIONS *').sort());
  });

  test('a route without an auth decision stops the gateway from being built', async () => {
    const app = Fastify();
    requireAuthDecisions(app);
    assert.throws(() => app.get('/forgotten', async () => 'open'), /GET \/forgotten has no auth decision/);
    app.get('/declared', { config: { auth: 'read' } }, async () => 'ok');
    await app.close();
  });

  test('every non-public route: 401 without a key, 403 with a key lacking its scope', async () => {
    const keys = new Map<string, string>();
    for (const scope of SCOPES) {
      // Every scope except the one under test (and admin, which implies it).
      const others = SCOPES.filter((s) => s !== scope && s !== 'admin');
      keys.set(scope, (await createKey(server.url, server.adminKey, { name: `all-but-${scope.replace(':', '-')}`, scopes: others })).key);
    }
    let checked = 0;
    for (const { method, url, auth } of server.app.routeTable) {
      if (auth === 'public') continue;
      const target = `${server.url}${concrete(url)}`;
      const anonymous = await fetch(target, { method });
      assert.equal(anonymous.status, 401, `${method} ${url} without a key`);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /Bearer realm="corral"/, `${method} ${url} challenges`);
      if (auth === 'service-token' || auth === 'training-token') {
        // An API key, even the admin's, is not a service's launch token.
        assert.equal((await fetch(target, { method, headers: bearer(server.adminKey) })).status, 401, `${method} ${url} with an API key`);
      } else {
        const res = await fetch(target, { method, headers: bearer(keys.get(auth)!) });
        assert.equal(res.status, 403, `${method} ${url} with a key lacking '${auth}'`);
        if (method !== 'HEAD') assert.match(await res.text(), new RegExp(`lacks the '${auth}' scope`), `${method} ${url} names the scope`);
      }
      checked++;
    }
    // Every route docs/auth.md lists as not public was checked.
    assert.equal(checked, [...documentedRoutes().values()].filter((decision) => decision !== 'public').length);
  });

  test('public routes answer without a key', async () => {
    // /v2/health/ready is 503 until the workers have started.
    await waitFor('the workers to be ready', () => server.corral.dispatcher.isReady(), 30_000);
    for (const path of ['/', '/help', '/v2/health/live', '/v2/health/ready']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, `${path}: ${await res.text()}`);
    }
  });
});
