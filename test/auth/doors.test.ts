/**
 * The open doors the issue found, each tried against a gateway with auth on
 * and each closed, with nothing changed by the attempt.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/gateway/index.js';
import { waitFor } from '../helpers/scale-out.js';
import type { TestServer } from '../helpers/test-server.js';
import { bearer, createKey, rawRequest, startAuthServer } from './auth-helpers.js';

let server: TestServer & { adminKey: string };
let admin: Record<string, string>;
before(async () => {
  server = await startAuthServer();
  admin = { ...bearer(server.adminKey), 'content-type': 'application/json' };
});
after(async () => { await server.close(); });

const statusOf = async (name: string) =>
  ((await (await fetch(`${server.url}/api/services/${name}`, { headers: bearer(server.adminKey) })).json()) as { status: string }).status;

describe('doors closed', () => {
  test("an async job's route cannot walk out of its service", async () => {
    for (const route of ['../../api/services/keyterms/stop', '/api/services/keyterms/stop', 'api/services/keyterms/stop', 'embed/../../api/services/keyterms/stop', '%2e%2e/%2e%2e/api/services/keyterms/stop', 'v2/models/iris.onnx/infer']) {
      const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: admin, body: JSON.stringify({ service: 'embed', input: {}, route }) });
      assert.equal(res.status, 400, route);
    }
    const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: admin, body: JSON.stringify({ service: 'embed', input: {}, route: '../../api/services/keyterms/stop' }) });
    assert.match((await res.json() as { error: string }).error, /not a route of service 'embed'.*use one of: embed, v1\/embeddings/);
    assert.equal(await statusOf('keyterms'), 'RUNNING');
    // A task route of the service is fine.
    const ok = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: admin, body: JSON.stringify({ service: 'embed', input: { input: ['hi'], model: 'embed' }, route: 'v1/embeddings' }) });
    assert.equal(ok.status, 202);
  });

  test('the service proxy forwards only POST to the service\'s task routes', async () => {
    const del = await fetch(`${server.url}/services/embed/api/services/ocr`, { method: 'DELETE', headers: admin });
    assert.equal(del.status, 404);
    const stop = await fetch(`${server.url}/services/embed/api/services/ocr/stop`, { method: 'POST', headers: admin, body: '{}' });
    assert.equal(stop.status, 400);
    const encoded = await rawRequest(`${server.url}/services/embed/..%2f..%2fapi%2fservices%2focr%2fstop`, { method: 'POST', headers: admin, body: '{}' });
    assert.equal(encoded.status, 400);
    assert.equal(await statusOf('ocr'), 'RUNNING');
    const embedded = await fetch(`${server.url}/services/embed/embed`, { method: 'POST', headers: admin, body: JSON.stringify({ sentences: ['a'] }) });
    assert.equal(embedded.status, 200);
  });

  test('the proxy and async jobs act as the original caller: its models and scopes still apply', async () => {
    const irisOnly = await createKey(server.url, server.adminKey, { name: 'proxy-iris-only', scopes: ['read', 'infer'], models: ['iris*'] });
    const proxied = await fetch(`${server.url}/services/embed/embed`, { method: 'POST', headers: { ...bearer(irisOnly.key), 'content-type': 'application/json' }, body: JSON.stringify({ sentences: ['a'] }) });
    assert.equal(proxied.status, 403);
    const job = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: { ...bearer(irisOnly.key), 'content-type': 'application/json' }, body: JSON.stringify({ service: 'embed', input: { sentences: ['a'] } }) });
    assert.equal(job.status, 403);

    const embedOnly = await createKey(server.url, server.adminKey, { name: 'jobs-embed', scopes: ['infer'], models: ['embed'] });
    const other = await createKey(server.url, server.adminKey, { name: 'jobs-other', scopes: ['infer'] });
    const submitted = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: { ...bearer(embedOnly.key), 'content-type': 'application/json' }, body: JSON.stringify({ service: 'embed', input: { sentences: ['a', 'b'] } }) });
    assert.equal(submitted.status, 202);
    const { id } = await submitted.json() as { id: string };
    const done = await waitFor('the job to finish', async () => {
      const view = await (await fetch(`${server.url}/api/jobs/${id}`, { headers: bearer(embedOnly.key) })).json() as { state: string; result?: { embeddings: number[][] } };
      return view.state === 'completed' || view.state === 'failed' ? view : undefined;
    });
    assert.equal(done.state, 'completed');
    assert.equal(done.result!.embeddings.length, 2);
    assert.equal('owner' in done, false);
    // Another key cannot see or cancel it; an admin can see it.
    assert.equal((await fetch(`${server.url}/api/jobs/${id}`, { headers: bearer(other.key) })).status, 404);
    assert.equal((await fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE', headers: bearer(other.key) })).status, 404);
    assert.equal((await fetch(`${server.url}/api/jobs/${id}`, { headers: bearer(server.adminKey) })).status, 200);
  });

  test('register needs the service\'s own launch token: an API key (even admin) is not one', async () => {
    const body = JSON.stringify({ endpoint: 'http://169.254.169.254' });
    const anonymous = await fetch(`${server.url}/api/services/embed/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(anonymous.status, 401);
    const withKey = await fetch(`${server.url}/api/services/embed/register`, { method: 'POST', headers: admin, body });
    assert.equal(withKey.status, 401);
    const service = await (await fetch(`${server.url}/api/services/embed`, { headers: bearer(server.adminKey) })).json() as { endpoint: string | null; status: string };
    assert.equal(service.endpoint, null);
    assert.equal(service.status, 'RUNNING');
  });

  test('a cross-origin state-changing request from a browser is 403, even a text/plain form with valid Basic credentials', async () => {
    const basic = `Basic ${Buffer.from(`sloth:${server.adminKey}`).toString('base64')}`;
    const csrf = await fetch(`${server.url}/api/services/embed/stop`, { method: 'POST', headers: { authorization: basic, origin: 'http://evil.example', 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(csrf.status, 403);
    assert.match((await csrf.json() as { error: string }).error, /Cross-origin request from origin http:\/\/evil.example refused/);
    const noOrigin = await fetch(`${server.url}/api/services/embed/stop`, { method: 'POST', headers: { authorization: basic, 'sec-fetch-site': 'cross-site' } });
    assert.equal(noOrigin.status, 403);
    assert.equal(await statusOf('embed'), 'RUNNING');
    // The gateway's own pages (same origin) may.
    const same = await fetch(`${server.url}/api/keys`, { method: 'POST', headers: { ...admin, origin: server.url }, body: JSON.stringify({ name: 'from-ui', scopes: ['read'] }) });
    assert.equal(same.status, 201);
  });

  test('a Host header that is not this gateway is 421 (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    const evil = await rawRequest(`${server.url}/api/v1/models`, { headers: { host: `evil.example:${port}`, ...bearer(server.adminKey) } });
    assert.equal(evil.status, 421);
    assert.match(evil.body, /Host 'evil.example' is not a name of this gateway.*CORRAL_ALLOWED_HOSTS/);
    const rebound = await rawRequest(`${server.url}/v2/health/live`, { headers: { host: 'attacker.test' } });
    assert.equal(rebound.status, 421);
    assert.equal((await rawRequest(`${server.url}/api/v1/models`, { headers: { host: `localhost:${port}`, ...bearer(server.adminKey) } })).status, 200);
    assert.equal((await rawRequest(`${server.url}/api/v1/models`, { headers: { host: `127.0.0.1:${port}`, ...bearer(server.adminKey) } })).status, 200);
  });

  test('a service on a local path needs admin; hub ids and revisions are validated', async () => {
    const writer = await createKey(server.url, server.adminKey, { name: 'service-writer', scopes: ['read', 'services:write'] });
    const create = (headers: Record<string, string>, body: Record<string, unknown>) =>
      fetch(`${server.url}/api/services`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sneaky', task: 'feature-extraction', ...body }) });
    for (const model of ['/etc', '.', '../..', 'test/fixtures']) {
      const res = await create(bearer(writer.key), { model });
      assert.equal(res.status, 403, model);
      assert.match((await res.json() as { error: string }).error, /needs the 'admin' scope/);
    }
    // An admin may point a service at a path; /etc holds no model, so it fails to start, and says so.
    const asAdmin = await fetch(`${server.url}/api/services?wait=true`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'admin-etc', task: 'feature-extraction', model: '/etc' }) });
    assert.equal(asAdmin.status, 201);
    assert.equal((await asAdmin.json() as { status: string }).status, 'FAILED');
    assert.equal((await create(bearer(writer.key), { model: 'Xenova/all-MiniLM-L6-v2', revision: '../../../etc' })).status, 400);
    const hub = await create(bearer(writer.key), { model: 'Xenova/all-MiniLM-L6-v2' });
    // Offline test machine: a valid hub id is refused for not being cached, not for being a path.
    assert.equal(hub.status, 400);
    assert.match((await hub.json() as { error: string }).error, /not in any local Hugging Face cache/);
    const services = await (await fetch(`${server.url}/api/services`, { headers: bearer(server.adminKey) })).json() as Array<{ name: string }>;
    assert.equal(services.some((s) => s.name === 'sneaky'), false);
  });
});

describe('CORS and extra host names', () => {
  test('CORRAL_CORS_ORIGINS allows that origin (preflight and request); CORRAL_ALLOWED_HOSTS adds a name', async () => {
    const lab = await startAuthServer({}, { CORRAL_CORS_ORIGINS: 'http://ui.lab.example', CORRAL_ALLOWED_HOSTS: 'corral.lab.example' });
    try {
      const preflight = await fetch(`${lab.url}/api/keys`, { method: 'OPTIONS', headers: { origin: 'http://ui.lab.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://ui.lab.example');
      const post = await fetch(`${lab.url}/api/keys`, { method: 'POST', headers: { ...bearer(lab.adminKey), 'content-type': 'application/json', origin: 'http://ui.lab.example' }, body: JSON.stringify({ name: 'cors', scopes: ['read'] }) });
      assert.equal(post.status, 201);
      assert.equal(post.headers.get('access-control-allow-origin'), 'http://ui.lab.example');
      const other = await fetch(`${lab.url}/api/keys`, { method: 'POST', headers: { ...bearer(lab.adminKey), 'content-type': 'application/json', origin: 'http://elsewhere.example' }, body: JSON.stringify({ name: 'x', scopes: ['read'] }) });
      assert.equal(other.status, 403);
      const named = await rawRequest(`${lab.url}/api/v1/models`, { headers: { host: 'corral.lab.example', ...bearer(lab.adminKey) } });
      assert.equal(named.status, 200);
    } finally {
      await lab.close();
    }
  });
});

describe('starting securely', () => {
  const BIN = fileURLToPath(new URL('../../bin/corral.js', import.meta.url));
  const corral = (args: string[], env: Record<string, string>) => new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr });
    });
  });

  test('CORRAL_AUTH=off on a non-loopback address: the server refuses to start, exits non-zero, says why', async () => {
    const home = mkdtempSync(join(tmpdir(), 'corral-auth-off-'));
    try {
      const run = await corral(['start', '--host', '0.0.0.0', '--port', '0', '--workers', '1'], { CORRAL_HOME: home, CORRAL_AUTH: 'off' });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /CORRAL_AUTH=off is allowed only on a loopback address/);
      await assert.rejects(startServer(loadConfig({ CORRAL_HOME: home, CORRAL_AUTH: 'off' }, { host: '10.1.2.3', port: 0, workers: 1 })), /CORRAL_AUTH=off is allowed only on a loopback address/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('a CORRAL_ADMIN_TOKEN shorter than 32 characters is refused; a good one is the admin credential and no key file is written', async () => {
    const home = mkdtempSync(join(tmpdir(), 'corral-admin-token-'));
    try {
      const short = await corral(['start', '--port', '0', '--workers', '1'], { CORRAL_HOME: home, CORRAL_ADMIN_TOKEN: 'too-short' });
      assert.equal(short.code, 2);
      assert.match(short.stderr, /CORRAL_ADMIN_TOKEN must be at least 32 characters/);
      const token = 'lab-admin-token-0123456789abcdef0123';
      const gateway = await startServer(loadConfig({ CORRAL_HOME: home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ADMIN_TOKEN: token, CORRAL_ALLOW_REMOTE_MODELS: '0' }, { host: '127.0.0.1', port: 0, workers: 1 }));
      try {
        assert.equal(gateway.newAdminKey, undefined);
        assert.equal(existsSync(join(home, 'admin.key')), false);
        assert.equal((await fetch(`${gateway.url}/api/keys`, { headers: bearer(token) })).status, 200);
        assert.equal((await fetch(`${gateway.url}/api/keys`)).status, 401);
      } finally {
        await gateway.close();
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('CORRAL_ANONYMOUS_SCOPES opens chosen scopes to requests without a key, and nothing more', async () => {
    const lab = await startAuthServer({}, { CORRAL_ANONYMOUS_SCOPES: 'read,infer' });
    try {
      assert.equal((await fetch(`${lab.url}/api/v1/models`)).status, 200);
      const embed = await fetch(`${lab.url}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sentences: ['a'] }) });
      assert.equal(embed.status, 200);
      assert.equal((await fetch(`${lab.url}/api/services/embed/stop`, { method: 'POST' })).status, 401);
      // A wrong key is still 401: a credential never falls back to anonymous.
      assert.equal((await fetch(`${lab.url}/api/v1/models`, { headers: bearer('corral_wrong') })).status, 401);
    } finally {
      await lab.close();
    }
  });
});
