// Webhook safety: targets on loopback, private, link-local and other internal
// addresses are refused at submission (400) and again at delivery, unless
// CORRAL_WEBHOOK_ALLOW_PRIVATE=1; delivery connects to the checked address,
// never follows a redirect, and every body is signed with HMAC-SHA256.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { classifyAddress, embeddedIPv4, type AddressKind } from '../../src/net/address-kind.js';
import {
  checkWebhookTarget, deliverWebhook, loadWebhookSecret, signWebhook, WebhookTargetError,
  type JobView, type WebhookLookup,
} from '../../src/jobs/index.js';
import { irisBody, labelsOf, submitJob, waitFor, waitForJob } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const OPT_IN = 'webhooks may reach public addresses only, unless the gateway runs with CORRAL_WEBHOOK_ALLOW_PRIVATE=1.';
const silent = pino({ level: 'silent' });
const hmac = (secret: string, timestamp: string, body: string) => `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

// A self-signed certificate for hooks.corral.test (EC P-256), for the TLS server name test.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgy1d+ZmMrOPQO4wIX
Lche3qNsbCTowBsrIudiTyTzXdahRANCAAQzysNFUOR+41NQmZFO94mUU+g0i+i5
RCYYWPZn71UNFjehahqDfArunnnFwftGvem2QrRa7Z97iTEwkQ/434M0
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBrjCCAVOgAwIBAgIUHnZnWS6UETDSZDf4I+oXFK6Sv1QwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRaG9va3MuY29ycmFsLnRlc3QwIBcNMjYxMjAyMDgwMzUyWhgP
MjEyNjExMDgwODAzNTJaMBwxGjAYBgNVBAMMEWhvb2tzLmNvcnJhbC50ZXN0MFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEM8rDRVDkfuNTUJmRTveJlFPoNIvouUQm
GFj2Z+9VDRY3oWoag3wK7p55xcH7Rr3ptkK0Wu2fe4kxMJEP+N+DNKNxMG8wHQYD
VR0OBBYEFNItqkEGESuj+uJ6OwZgG/yCpkHSMB8GA1UdIwQYMBaAFNItqkEGESuj
+uJ6OwZgG/yCpkHSMA8GA1UdEwEB/wQFMAMBAf8wHAYDVR0RBBUwE4IRaG9va3Mu
Y29ycmFsLnRlc3QwCgYIKoZIzj0EAwIDSQAwRgIhAKC0grVFeoL8/fTv8pJDJr4c
y1Y4bcBxSUVORx19mJvZAiEAnJT0RI3gcUxRLYZMApST/g3ZpAKva3mjwDhkV99p
zq8=
-----END CERTIFICATE-----`;

interface Call { path: string; headers: IncomingHttpHeaders; body: string }
interface Receiver { url: string; port: number; calls: Call[]; close(): void }

/** A real HTTP receiver on 127.0.0.1 that records every request and answers with `answer`. */
async function startReceiver(answer: (call: Call, res: ServerResponse, req: IncomingMessage) => void = (_c, res) => res.writeHead(204).end()): Promise<Receiver> {
  const calls: Call[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      calls.push(call);
      answer(call, res, req);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, port, calls,
    close() { server.close(); server.closeAllConnections(); },
  };
}

const fakeJob = (id = 'job-1'): JobView => ({ id, service: 'iris.onnx', state: 'completed', progress: 100, attempts: 1, created_at: '2024-01-01T00:00:00.000Z' });
const fixedLookup = (addresses: string[], seen: string[] = []): WebhookLookup => async (hostname) => {
  seen.push(hostname);
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('classifyAddress', () => {
  const table: Array<[string, AddressKind]> = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['223.255.255.255', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fec0::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2002:808:808::1', 'public'],
  ];
  for (const [address, kind] of table) {
    test(`${address} is ${kind}`, () => assert.equal(classifyAddress(address), kind));
  }

  test('embedded IPv4 forms give the IPv4 address they reach', () => {
    assert.equal(embeddedIPv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIPv4('::ffff:0:a00:1'), '10.0.0.1');
    assert.equal(embeddedIPv4('64:ff9b::c0a8:101'), '192.168.1.1');
    assert.equal(embeddedIPv4('2002:a9fe:a9fe::1'), '169.254.169.254');
    assert.equal(embeddedIPv4('2606:4700::1'), undefined);
    assert.equal(embeddedIPv4('::1'), undefined);
    assert.equal(embeddedIPv4('::'), undefined);
  });

  test('a host name is not an address', () => {
    assert.throws(() => classifyAddress('localhost'), { name: 'TypeError', message: "'localhost' is not an IP address" });
  });
});

describe('checkWebhookTarget', () => {
  test('literal addresses, in every form new URL normalises, are refused without a lookup', async () => {
    const seen: string[] = [];
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1:9/x', 'Webhook address 127.0.0.1 is a loopback address'],
      ['http://0x7f000001/', 'Webhook address 127.0.0.1 is a loopback address'],
      ['http://017700000001/', 'Webhook address 127.0.0.1 is a loopback address'],
      ['http://2130706433/', 'Webhook address 127.0.0.1 is a loopback address'],
      ['http://127.1/', 'Webhook address 127.0.0.1 is a loopback address'],
      ['http://0/', 'Webhook address 0.0.0.0 is the unspecified address'],
      ['https://[::1]/', 'Webhook address ::1 is a loopback address'],
      ['http://[::ffff:127.0.0.1]/', 'Webhook address ::ffff:7f00:1 is a loopback address'],
      ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', 'Webhook address ::ffff:a9fe:a9fe is a link-local address'],
      ['http://169.254.169.254/latest/meta-data/', 'Webhook address 169.254.169.254 is a link-local address'],
      ['http://10.0.0.1/', 'Webhook address 10.0.0.1 is a private-network address'],
      ['http://100.64.1.1/', 'Webhook address 100.64.1.1 is a carrier-grade NAT (shared, 100.64.0.0/10) address'],
      ['http://[fd00::1]/', 'Webhook address fd00::1 is a private-network address'],
      ['http://224.0.0.1/', 'Webhook address 224.0.0.1 is a multicast address'],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(checkWebhookTarget(url, { allowPrivate: false, lookup: fixedLookup(['8.8.8.8'], seen) }), (err: unknown) => {
        assert.ok(err instanceof WebhookTargetError, url);
        assert.equal(err.reason, 'refused', url);
        assert.equal(err.code, 'BAD_REQUEST', url);
        assert.equal(err.status, 400, url);
        assert.equal(err.message, `${message}; ${OPT_IN}`, url);
        return true;
      });
    }
    assert.deepEqual(seen, []);
  });

  test('a name is refused if ANY address it resolves to is not public', async () => {
    await assert.rejects(checkWebhookTarget('https://hooks.example.com/x', { allowPrivate: false, lookup: fixedLookup(['93.184.216.34', '10.1.2.3']) }), {
      name: 'CorralError', message: `Webhook host 'hooks.example.com' resolves to 10.1.2.3, a private-network address; ${OPT_IN}`,
    });
    await assert.rejects(checkWebhookTarget('https://hooks.example.com/x', { allowPrivate: false, lookup: fixedLookup(['2606:4700::1', '::ffff:169.254.169.254']) }), {
      message: `Webhook host 'hooks.example.com' resolves to ::ffff:169.254.169.254, a link-local address; ${OPT_IN}`,
    });
  });

  test('a public name passes with every address it resolves to; allowPrivate passes private ones', async () => {
    const seen: string[] = [];
    const target = await checkWebhookTarget('https://Hooks.Example.com:8443/a?b=c', { allowPrivate: false, lookup: fixedLookup(['93.184.216.34', '2606:2800:220:1::1'], seen) });
    assert.deepEqual(seen, ['hooks.example.com']);
    assert.equal(target.hostname, 'hooks.example.com');
    assert.equal(target.url.href, 'https://hooks.example.com:8443/a?b=c');
    assert.deepEqual(target.addresses, [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }]);

    const priv = await checkWebhookTarget('http://[::1]:8080/', { allowPrivate: true });
    assert.equal(priv.hostname, '::1');
    assert.deepEqual(priv.addresses, [{ address: '::1', family: 6 }]);
  });

  test('malformed, non-http, credential-carrying and unresolvable URLs are refused', async () => {
    const cases: Array<[string, 'invalid' | 'unresolvable', string]> = [
      ['not a url', 'invalid', "Webhook 'not a url' is not a valid URL."],
      ['ftp://example.com/', 'invalid', "Webhook URLs must use http or https, not 'ftp'."],
      ['file:///etc/passwd', 'invalid', "Webhook URLs must use http or https, not 'file'."],
      ['http://user:secret@example.com/', 'invalid', 'Webhook URLs may not carry a user name or password; receivers authenticate deliveries by their X-Corral-Signature header.'],
      ['http://user@example.com/', 'invalid', 'Webhook URLs may not carry a user name or password; receivers authenticate deliveries by their X-Corral-Signature header.'],
      ['http://no-such-host.invalid/', 'unresolvable', "Webhook host 'no-such-host.invalid' cannot be resolved (ENOTFOUND)."],
    ];
    for (const [url, reason, message] of cases) {
      for (const allowPrivate of [false, true]) {
        await assert.rejects(checkWebhookTarget(url, { allowPrivate }), (err: unknown) => {
          assert.ok(err instanceof WebhookTargetError, url);
          assert.equal(err.reason, reason, url);
          assert.equal(err.status, 400, url);
          assert.equal(err.message, message, url);
          return true;
        });
      }
    }
    await assert.rejects(checkWebhookTarget('http://empty.example/', { allowPrivate: false, lookup: fixedLookup([]) }), { message: "Webhook host 'empty.example' cannot be resolved (ENODATA)." });
    const never: WebhookLookup = () => new Promise(() => undefined);
    await assert.rejects(checkWebhookTarget('http://slow.example/', { allowPrivate: false, lookup: never, lookupTimeoutMs: 50 }), { message: "Webhook host 'slow.example' cannot be resolved (ETIMEOUT)." });
  });
});

describe('loadWebhookSecret', () => {
  test('made on first use: 32 random bytes in hex, mode 0600, the same afterwards', () => {
    const home = mkdtempSync(join(tmpdir(), 'corral-secret-'));
    const other = mkdtempSync(join(tmpdir(), 'corral-secret-'));
    try {
      const secret = loadWebhookSecret(home);
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.equal(readFileSync(join(home, 'webhook.secret'), 'utf8'), secret);
      assert.equal(statSync(join(home, 'webhook.secret')).mode & 0o777, 0o600);
      assert.equal(loadWebhookSecret(home), secret);
      assert.deepEqual(readdirSync(home), ['webhook.secret'], 'no temporary file left behind');
      assert.notEqual(loadWebhookSecret(other), secret);
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('an existing file is used (trimmed) and its mode tightened to 0600; a too-short one is an error', () => {
    const home = mkdtempSync(join(tmpdir(), 'corral-secret-'));
    try {
      const path = join(home, 'webhook.secret');
      writeFileSync(path, `${'k'.repeat(40)}\n`);
      chmodSync(path, 0o644);
      assert.equal(loadWebhookSecret(home), 'k'.repeat(40));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      writeFileSync(path, 'short');
      assert.throws(() => loadWebhookSecret(home), { message: `${path} holds no usable webhook secret (fewer than 32 characters); remove it to have a new one made.` });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('deliverWebhook', () => {
  test('signWebhook: HMAC-SHA256 over "<timestamp>.<body>" (known answer)', () => {
    assert.equal(
      signWebhook('test-secret-0123456789abcdef0123456789', 1700000000, '{"id":"job-1","state":"completed"}'),
      'sha256=7c7e3e956bb46a253b72a0ada0c2c340d2d569fa1ae27a71ce54771d9e452c2d',
    );
  });

  test('connects to the checked address, keeps the URL name as Host, and signs the body', async () => {
    const receiver = await startReceiver();
    try {
      const seen: string[] = [];
      const ok = await deliverWebhook(`http://hooks.corral.test:${receiver.port}/pinned?x=1`, fakeJob(), {
        logger: silent, secret: 's'.repeat(32), allowPrivate: true, lookup: fixedLookup(['127.0.0.1'], seen),
      });
      assert.equal(ok, true);
      assert.deepEqual(seen, ['hooks.corral.test'], 'resolved once, by the check; the connection used the checked address');
      assert.equal(receiver.calls.length, 1);
      const [call] = receiver.calls;
      assert.equal(call!.path, '/pinned?x=1');
      assert.equal(call!.headers.host, `hooks.corral.test:${receiver.port}`);
      assert.equal(call!.headers['content-type'], 'application/json');
      assert.equal(call!.headers['x-corral-job'], 'job-1');
      assert.equal(call!.headers['x-corral-attempt'], '1');
      assert.equal(call!.body, JSON.stringify(fakeJob()));
      const timestamp = call!.headers['x-corral-timestamp'] as string;
      assert.match(timestamp, /^\d+$/);
      assert.equal(call!.headers['x-corral-signature'], hmac('s'.repeat(32), timestamp, call!.body));
    } finally {
      receiver.close();
    }
  });

  test('https: the TLS server name is the URL name, not the pinned address, and the certificate is checked', async () => {
    const names: string[] = [];
    let requests = 0;
    const tls = createHttpsServer({
      key: TLS_KEY, cert: TLS_CERT,
      SNICallback: (name, cb) => { names.push(name); cb(null); },
    }, (_req, res) => { requests++; res.writeHead(204).end(); });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      const port = (tls.address() as { port: number }).port;
      const ok = await deliverWebhook(`https://hooks.corral.test:${port}/tls`, fakeJob(), {
        logger: silent, secret: 's'.repeat(32), allowPrivate: true, lookup: fixedLookup(['127.0.0.1']), attempts: 1,
      });
      assert.equal(ok, false, 'a self-signed certificate is refused');
      assert.deepEqual(names, ['hooks.corral.test']);
      assert.equal(requests, 0);
    } finally {
      tls.close();
      tls.closeAllConnections();
    }
  });

  test('a name that resolves to a private address at delivery is never contacted, and not retried', async () => {
    const receiver = await startReceiver();
    try {
      const seen: string[] = [];
      const ok = await deliverWebhook(`http://rebound.corral.test:${receiver.port}/`, fakeJob(), {
        logger: silent, secret: 's'.repeat(32), allowPrivate: false, lookup: fixedLookup(['93.184.216.34', '127.0.0.1'], seen), attempts: 4, firstDelayMs: 1,
      });
      assert.equal(ok, false);
      assert.deepEqual(seen, ['rebound.corral.test']);
      assert.equal(receiver.calls.length, 0);
    } finally {
      receiver.close();
    }
  });

  test('an unresolvable host and a receiver that never answers use up the bounded tries', async () => {
    const seen: string[] = [];
    const failing: WebhookLookup = async (hostname) => {
      seen.push(hostname);
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    assert.equal(await deliverWebhook('http://gone.corral.test/', fakeJob(), { logger: silent, secret: 's'.repeat(32), allowPrivate: true, lookup: failing, attempts: 3, firstDelayMs: 1 }), false);
    assert.deepEqual(seen, ['gone.corral.test', 'gone.corral.test', 'gone.corral.test']);

    const silentReceiver = await startReceiver(() => undefined); // reads the request, never answers
    try {
      const ok = await deliverWebhook(`${silentReceiver.url}/slow`, fakeJob(), { logger: silent, secret: 's'.repeat(32), allowPrivate: true, attempts: 2, firstDelayMs: 1, timeoutMs: 200 });
      assert.equal(ok, false);
      assert.deepEqual(silentReceiver.calls.map((c) => c.headers['x-corral-attempt']), ['1', '2']);
    } finally {
      silentReceiver.close();
    }
  });

  test('a receiver that always fails gets exactly the bounded number of tries, then delivery gives up', async () => {
    const failing = await startReceiver((_c, res) => res.writeHead(500).end('broken'));
    try {
      const ok = await deliverWebhook(`${failing.url}/hook`, fakeJob(), { logger: silent, secret: 's'.repeat(32), allowPrivate: true, attempts: 4, firstDelayMs: 1 });
      assert.equal(ok, false);
      assert.deepEqual(failing.calls.map((c) => c.headers['x-corral-attempt']), ['1', '2', '3', '4']);
    } finally {
      failing.close();
    }
  });
});

describe('POST /api/jobs, default settings', () => {
  let server: TestServer;
  let receiver: Receiver;
  before(async () => {
    // No job ever runs (concurrency 0) and one may wait: a 429 after one accepted job shows the queue held only that one.
    server = await startTestServer({ jobConcurrency: 0, maxQueuedJobs: 1 });
    receiver = await startReceiver();
  });
  after(async () => {
    receiver?.close();
    await server?.close();
  });

  test('internal webhook targets are 400 with the reason and the opt-in; unresolvable ones too; nothing is queued', async () => {
    const [localhost] = await dnsLookup('localhost', { all: true });
    const cases: Array<[string, string]> = [
      [`${receiver.url}/hook`, `Webhook address 127.0.0.1 is a loopback address; ${OPT_IN}`],
      ['http://169.254.169.254/', `Webhook address 169.254.169.254 is a link-local address; ${OPT_IN}`],
      ['http://[::1]/', `Webhook address ::1 is a loopback address; ${OPT_IN}`],
      ['http://10.0.0.1/', `Webhook address 10.0.0.1 is a private-network address; ${OPT_IN}`],
      ['http://0x7f000001/', `Webhook address 127.0.0.1 is a loopback address; ${OPT_IN}`],
      ['http://localhost/', `Webhook host 'localhost' resolves to ${localhost!.address}, a loopback address; ${OPT_IN}`],
      [`http://localhost:${receiver.port}/hook`, `Webhook host 'localhost' resolves to ${localhost!.address}, a loopback address; ${OPT_IN}`],
      ['http://[::ffff:169.254.169.254]/', `Webhook address ::ffff:a9fe:a9fe is a link-local address; ${OPT_IN}`],
      ['http://no-such-host.invalid/', "Webhook host 'no-such-host.invalid' cannot be resolved (ENOTFOUND)."],
      ['http://user:pw@example.com/', 'Webhook URLs may not carry a user name or password; receivers authenticate deliveries by their X-Corral-Signature header.'],
    ];
    for (const [webhook, error] of cases) {
      const res = await postJson(`${server.url}/api/jobs`, { service: 'embed', input: { sentences: ['x'] }, webhook });
      assert.equal(res.status, 400, webhook);
      assert.deepEqual(await res.json(), { error, code: 'BAD_REQUEST' }, webhook);
    }
    const accepted = await postJson(`${server.url}/api/jobs`, { service: 'embed', input: { sentences: ['x'] } });
    assert.equal(accepted.status, 202, 'the queue was empty');
    const full = await postJson(`${server.url}/api/jobs`, { service: 'embed', input: { sentences: ['x'] } });
    assert.equal(full.status, 429);
    assert.deepEqual(await full.json(), { error: '1 jobs are queued, the limit; retry shortly.', code: 'QUEUE_FULL' });
    assert.equal(receiver.calls.length, 0);
    assert.deepEqual(readdirSync(server.home).includes('webhook.secret'), false, 'no delivery, so no secret made yet');
  });
});

describe('CORRAL_WEBHOOK_ALLOW_PRIVATE=1', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, { CORRAL_WEBHOOK_ALLOW_PRIVATE: '1' });
    assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
  });
  after(async () => { await server?.close(); });

  test('a loopback receiver gets the finished job, signed with CORRAL_HOME/webhook.secret (mode 0600)', async () => {
    const receiver = await startReceiver();
    try {
      const accepted = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([VIRGINICA]), webhook: `${receiver.url}/done` });
      await waitFor('the webhook', () => receiver.calls.length >= 1, 20_000);
      const job = await waitForJob(server.url, accepted.id, 20_000);
      assert.equal(receiver.calls.length, 1);
      const [call] = receiver.calls;
      assert.equal(call!.path, '/done');
      assert.equal(call!.headers['x-corral-job'], accepted.id);
      assert.equal(call!.headers['x-corral-attempt'], '1');
      const delivered = JSON.parse(call!.body) as JobView;
      assert.deepEqual(delivered, job);
      assert.equal(delivered.state, 'completed');
      assert.deepEqual(labelsOf(delivered.result), [2]);

      const secretPath = join(server.home, 'webhook.secret');
      assert.equal(statSync(secretPath).mode & 0o777, 0o600);
      const secret = readFileSync(secretPath, 'utf8');
      assert.match(secret, /^[0-9a-f]{64}$/);
      const timestamp = call!.headers['x-corral-timestamp'] as string;
      assert.match(timestamp, /^\d+$/);
      assert.equal(call!.headers['x-corral-signature'], hmac(secret, timestamp, call!.body));
      assert.notEqual(call!.headers['x-corral-signature'], hmac('wrong', timestamp, call!.body));
    } finally {
      receiver.close();
    }
  });

  test('a 302 is a failed try, never followed: the redirect target is not called', async () => {
    const target = await startReceiver();
    // 302 to `target` on the first three tries, 204 on the fourth. A client that followed
    // redirects would call `target` after the first 302, before any second try.
    const redirecting = await startReceiver((call, res) => {
      if (call.headers['x-corral-attempt'] === '4') res.writeHead(204).end();
      else res.writeHead(302, { location: `${target.url}/stolen` }).end();
    });
    try {
      const accepted = await submitJob(server.url, { service: 'iris.onnx', input: irisBody([VIRGINICA]), webhook: `${redirecting.url}/hook` });
      await waitFor('four tries', () => redirecting.calls.length >= 4, 20_000);
      assert.deepEqual(redirecting.calls.map((c) => c.headers['x-corral-attempt']), ['1', '2', '3', '4']);
      assert.deepEqual(redirecting.calls.map((c) => (JSON.parse(c.body) as JobView).id), [accepted.id, accepted.id, accepted.id, accepted.id]);
      assert.equal(target.calls.length, 0);
    } finally {
      redirecting.close();
      target.close();
    }
  });

  test('URLs that can never be delivered are still 400', async () => {
    for (const [webhook, error] of [
      ['http://no-such-host.invalid/', "Webhook host 'no-such-host.invalid' cannot be resolved (ENOTFOUND)."],
      ['http://user:pw@127.0.0.1/', 'Webhook URLs may not carry a user name or password; receivers authenticate deliveries by their X-Corral-Signature header.'],
    ] as const) {
      const res = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([VIRGINICA]), webhook });
      assert.equal(res.status, 400, webhook);
      assert.deepEqual(await res.json(), { error, code: 'BAD_REQUEST' }, webhook);
    }
  });
});

describe('CORRAL_WEBHOOK_SECRET', () => {
  let server: TestServer;
  const SECRET = 'configured-secret-0123456789abcdef-0123456789';
  before(async () => {
    server = await startTestServer({}, { CORRAL_WEBHOOK_ALLOW_PRIVATE: '1', CORRAL_WEBHOOK_SECRET: SECRET });
    assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
  });
  after(async () => { await server?.close(); });

  test('signs with the configured secret and makes no webhook.secret file', async () => {
    const receiver = await startReceiver();
    try {
      await submitJob(server.url, { service: 'iris.onnx', input: irisBody([VIRGINICA]), webhook: `${receiver.url}/signed` });
      await waitFor('the webhook', () => receiver.calls.length >= 1, 20_000);
      const [call] = receiver.calls;
      assert.equal(call!.headers['x-corral-signature'], hmac(SECRET, call!.headers['x-corral-timestamp'] as string, call!.body));
      assert.equal(readdirSync(server.home).includes('webhook.secret'), false);
    } finally {
      receiver.close();
    }
  });
});
