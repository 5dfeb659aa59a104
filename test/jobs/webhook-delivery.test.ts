// Webhook delivery, try by try, against a real receiver on loopback: which
// statuses count as delivered, what each failed try logs, the headers of a
// try, the back-off between tries, and a missing signing secret.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { deliverWebhook, loadWebhookSecret, type JobView } from '../../src/jobs/index.js';

const SECRET = 's'.repeat(32);
const job: JobView = { id: 'job-7', service: 'iris', state: 'completed', progress: 100, attempts: 1, created_at: '2026-12-02T00:00:00.000Z' };

interface Call { method: string; headers: IncomingHttpHeaders; at: number }

/** A receiver that answers its calls with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[]) {
  const calls: Call[] = [];
  const server = createServer((req, res) => {
    calls.push({ method: req.method!, headers: req.headers, at: performance.now() });
    req.resume();
    req.on('end', () => res.writeHead(statuses[Math.min(calls.length, statuses.length) - 1]!).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hook`, calls, close: () => { server.close(); server.closeAllConnections(); } };
}

/** A pino logger that keeps its records, to see what a try logged. */
function recordingLogger() {
  const records: Array<{ level: number; msg: string; status?: number; attempt?: number; err?: string; job?: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { records.push(JSON.parse(line)); } });
  return { logger, records, messages: () => records.map((r) => `${r.msg}${r.status ? ` ${r.status}` : ''}${r.attempt ? ` #${r.attempt}` : ''}`) };
}

async function deliver(statuses: number[], attempts = 5) {
  const hook = await receiver(statuses);
  const log = recordingLogger();
  try {
    const ok = await deliverWebhook(hook.url, job, { logger: log.logger, secret: SECRET, allowPrivate: true, attempts, firstDelayMs: 1 });
    return { ok, calls: hook.calls, log };
  } finally {
    hook.close();
  }
}

describe('deliverWebhook, try by try', () => {
  test('200 and 299 are delivered on the first try; nothing is logged', async () => {
    for (const status of [200, 299]) {
      const { ok, calls, log } = await deliver([status]);
      assert.equal(ok, true, `status ${status}`);
      assert.equal(calls.length, 1);
      assert.deepEqual(log.records, []);
    }
  });

  test('300 and 399 are redirects (logged so, not followed), 400 and 500 errors; each is one try', async () => {
    const { ok, calls, log } = await deliver([300, 399, 400, 500, 204]);
    assert.equal(ok, true);
    assert.deepEqual(calls.map((c) => c.headers['x-corral-attempt']), ['1', '2', '3', '4', '5']);
    assert.deepEqual(log.messages(), [
      'webhook answered with a redirect, which is not followed 300 #1',
      'webhook answered with a redirect, which is not followed 399 #2',
      'webhook answered with an error 400 #3',
      'webhook answered with an error 500 #4',
    ]);
    assert.deepEqual(log.records.map((r) => r.job), ['job-7', 'job-7', 'job-7', 'job-7']);
  });

  test('every try is a POST by corral-webhook, stamped with the time in seconds', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { calls } = await deliver([500, 200]);
    const after = Math.ceil(Date.now() / 1000);
    assert.deepEqual(calls.map((c) => [c.method, c.headers['user-agent']]), [['POST', 'corral-webhook'], ['POST', 'corral-webhook']]);
    for (const call of calls) {
      const stamp = Number(call.headers['x-corral-timestamp']);
      assert.ok(stamp >= before && stamp <= after, `timestamp ${stamp} is the delivery's second (${before}..${after})`);
    }
  });

  test('the wait before each retry doubles from firstDelayMs', async () => {
    const hook = await receiver([500]);
    try {
      const ok = await deliverWebhook(hook.url, job, { logger: pino({ level: 'silent' }), secret: SECRET, allowPrivate: true, attempts: 3, firstDelayMs: 60 });
      assert.equal(ok, false);
      assert.equal(hook.calls.length, 3);
      // Timers never fire early, so these lower bounds hold however slow the machine is.
      const gaps = [hook.calls[1]!.at - hook.calls[0]!.at, hook.calls[2]!.at - hook.calls[1]!.at];
      assert.ok(gaps[0]! >= 59, `first wait ${gaps[0]} ms, at least 60`);
      assert.ok(gaps[1]! >= 119, `second wait ${gaps[1]} ms, at least 120`);
    } finally {
      hook.close();
    }
  });

  test('a failed connection is logged with its try; a refused target once, and never contacted', async () => {
    const hook = await receiver([200]);
    hook.close();
    const log = recordingLogger();
    assert.equal(await deliverWebhook(hook.url, job, { logger: log.logger, secret: SECRET, allowPrivate: true, attempts: 2, firstDelayMs: 1 }), false);
    assert.deepEqual(log.messages(), ['webhook delivery failed #1', 'webhook delivery failed #2']);
    assert.match(log.records[0]!.err!, /ECONNREFUSED/);

    const refused = recordingLogger();
    assert.equal(await deliverWebhook(hook.url, job, { logger: refused.logger, secret: SECRET, allowPrivate: false, attempts: 3, firstDelayMs: 1 }), false);
    assert.deepEqual(refused.messages(), ['webhook not sent: its target is refused']);
    assert.match(refused.records[0]!.err!, /loopback/);
  });

  test('without a signing secret nothing is sent, and the reason is logged as an error', async () => {
    const hook = await receiver([200]);
    const log = recordingLogger();
    try {
      const ok = await deliverWebhook(hook.url, job, {
        logger: log.logger, allowPrivate: true, secret: () => { throw new Error('no home'); },
      });
      assert.equal(ok, false);
      assert.equal(hook.calls.length, 0);
      assert.deepEqual(log.records.map((r) => [r.level, r.msg, r.err, r.job]), [[50, 'webhook not sent: no signing secret', 'no home', 'job-7']]);
    } finally {
      hook.close();
    }
  });
});

describe('loadWebhookSecret, failures', () => {
  test('a home that cannot be written to is an error, not an empty secret; no temporary file is left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-secret-'));
    try {
      assert.throws(() => loadWebhookSecret(join(dir, 'missing', 'home')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      loadWebhookSecret(dir);
      assert.deepEqual(readdirSync(dir), ['webhook.secret']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
