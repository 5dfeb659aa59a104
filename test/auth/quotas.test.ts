/**
 * Quotas: requests per minute (token bucket, counted at admission) and
 * concurrent requests (a slot freed when the client goes away), in one
 * gateway's memory and in Redis shared by two gateways; a revocation reaching
 * the second gateway; failed authentications slowed per address.
 */
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/gateway/index.js';
import { cleanRedisKeys, newPrefix, waitFor } from '../helpers/scale-out.js';
import type { TestServer } from '../helpers/test-server.js';
import { bearer, createKey, startAuthServer } from './auth-helpers.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Sends `n` requests at once; returns their statuses (sorted) and Retry-After headers. */
async function burst(urls: string[], key: string): Promise<{ statuses: number[]; retryAfter: Array<string | null> }> {
  const responses = await Promise.all(urls.map((url) => fetch(url, { headers: bearer(key) })));
  await Promise.all(responses.map((r) => r.arrayBuffer()));
  return { statuses: responses.map((r) => r.status).sort(), retryAfter: responses.filter((r) => r.status === 429).map((r) => r.headers.get('retry-after')) };
}

/** An upload that sends its headers and part of its body, then waits: a request in flight for as long as the test likes. */
function slowUpload(url: string, key: string): ClientRequest {
  const req = request(`${url}/api/v1/models/slow.onnx`, {
    method: 'PUT',
    headers: { ...bearer(key), 'content-type': 'multipart/form-data; boundary=xyz', 'content-length': '100000' },
  });
  req.on('error', () => undefined);
  req.write('--xyz\r\nContent-Disposition: form-data; name="path"; filename="m.onnx"\r\n\r\npartial');
  return req;
}

describe('quotas in one gateway', () => {
  let server: TestServer & { adminKey: string };
  before(async () => { server = await startAuthServer({}, { CORRAL_AUTH_FAILURES_PER_MINUTE: '5' }); });
  after(async () => { await server.close(); });

  test('5 requests per minute, 20 at once: five 200s and fifteen 429 RATE_LIMITED with Retry-After', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'five', scopes: ['read'], rate_limit: { requests_per_minute: 5 } });
    const { statuses, retryAfter } = await burst(Array.from({ length: 20 }, () => `${server.url}/api/v1/models`), key.key);
    assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(15).fill(429)]);
    // The next token comes back within 12 s (60 s / 5); how much of that is left depends on the clock.
    for (const value of retryAfter) assert.ok(Number(value) >= 1 && Number(value) <= 12, `Retry-After ${value}`);
    const body = await (await fetch(`${server.url}/api/services`, { headers: bearer(key.key) })).json() as { code: string; error: string };
    assert.equal(body.code, 'RATE_LIMITED');
    assert.match(body.error, /5 requests per minute/);
  });

  test('failed requests spend tokens too', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'three', scopes: ['read'], rate_limit: { requests_per_minute: 3 } });
    const { statuses } = await burst([1, 2, 3, 4].map(() => `${server.url}/api/v1/models/no-such-model`), key.key);
    assert.deepEqual(statuses, [404, 404, 404, 429]);
  });

  test('concurrency 2: a third request in flight is 429 CONCURRENCY_LIMITED, and a client abort frees the slot', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'two-at-once', scopes: ['read', 'models:write'], rate_limit: { requests_per_minute: 10000, concurrency: 2 } });
    const first = slowUpload(server.url, key.key);
    const second = slowUpload(server.url, key.key);
    const limited = await waitFor('both uploads to hold their slots', async () => {
      const res = await fetch(`${server.url}/api/v1/models`, { headers: bearer(key.key) });
      return res.status === 429 ? res : undefined;
    }, 10_000, 50);
    assert.equal((await limited.json() as { error: string }).error, 'CONCURRENCY_LIMITED');
    assert.equal(limited.headers.get('retry-after'), '1');
    first.destroy();
    const freed = await waitFor('the aborted upload to free its slot', async () => {
      const res = await fetch(`${server.url}/api/v1/models`, { headers: bearer(key.key) });
      return res.status === 200 ? res : undefined;
    }, 10_000, 50);
    assert.equal(freed.status, 200);
    second.destroy();
  });

  test('an address that keeps failing authentication is slowed down with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${server.url}/api/v1/models`, { headers: bearer(`corral_guess-${i}`) })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // Even the right key waits: guessing is slowed per address, not per key.
    const res = await fetch(`${server.url}/api/v1/models`, { headers: bearer(server.adminKey) });
    assert.equal(res.status, 429);
    assert.equal((await res.json() as { error: string }).error, 'RATE_LIMITED');
    // A token comes back within 12 s (60 s / 5); how much of that is left depends on the clock.
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 12, `Retry-After ${retryAfter}`);
  });
});

describe('two gateways on one Redis and one database', () => {
  const prefix = newPrefix();
  let a: TestServer & { adminKey: string };
  let b: RunningServer;
  before(async () => {
    a = await startAuthServer({ redisUrl: REDIS_URL, queuePrefix: prefix });
    b = await startServer(loadConfig(
      { CORRAL_HOME: a.home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_AUTH: 'on' },
      { host: '127.0.0.1', port: 0, workers: 1, threadsPerWorker: 1, redisUrl: REDIS_URL, queuePrefix: prefix },
    ));
  });
  after(async () => {
    await b.close();
    await a.close();
    await cleanRedisKeys(REDIS_URL, prefix);
  });

  test('a key limited to 5 per minute gets five 200s in total across both gateways', async () => {
    const key = await createKey(a.url, a.adminKey, { name: 'shared-five', scopes: ['read'], rate_limit: { requests_per_minute: 5 } });
    const urls = Array.from({ length: 20 }, (_, i) => `${i % 2 ? a.url : b.url}/api/v1/models`);
    const { statuses } = await burst(urls, key.key);
    assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(15).fill(429)]);
  });

  test('a key made on one gateway works on the other; revoked there, it is refused here (the change comes over Redis pub/sub)', async () => {
    const key = await createKey(a.url, a.adminKey, { name: 'roaming', scopes: ['read'] });
    assert.equal((await fetch(`${b.url}/api/v1/models`, { headers: bearer(key.key) })).status, 200);
    const revoked = await fetch(`${a.url}/api/keys/${key.id}`, { method: 'DELETE', headers: bearer(a.adminKey) });
    assert.equal(revoked.status, 200);
    const refused = await waitFor('gateway B to refuse the revoked key', async () => {
      const res = await fetch(`${b.url}/api/v1/models`, { headers: bearer(key.key) });
      return res.status === 401 ? res : undefined;
    }, 10_000, 20);
    assert.equal((await refused.json() as { error: string }).error, 'API_KEY_REVOKED');
  });
});
