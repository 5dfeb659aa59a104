// Leadership against the real PostgreSQL (advisory lock) and Redis (lease) on loopback:
// one of two competing gateways leads; when it dies the other takes over; stop() hands over at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { Leadership } from '../../src/leadership/leadership.js';
import { SoloLeadership } from '../../src/leadership/leadership.js';
import { PostgresLeadership } from '../../src/leadership/postgres-leadership.js';
import { RedisLeadership } from '../../src/leadership/redis-leadership.js';
import { cleanRedisKeys, waitFor } from '../helpers/scale-out.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
const INTERVAL = 100;

/** Starts a leadership and records every change it reports. */
function follow(l: Leadership): boolean[] {
  const changes: boolean[] = [];
  l.start((leader) => changes.push(leader));
  return changes;
}

test('a gateway alone always leads', async () => {
  const solo = new SoloLeadership();
  assert.deepEqual(follow(solo), [true]);
  assert.equal(solo.isLeader(), true);
});

describe('PostgreSQL advisory lock', () => {
  const stops: Leadership[] = [];
  after(async () => { await Promise.all(stops.map((l) => l.stop())); });

  test('exactly one of two leads; killing its session moves the lead; stop() hands it over', async () => {
    const a = new PostgresLeadership(PG_URL, INTERVAL);
    const b = new PostgresLeadership(PG_URL, INTERVAL);
    stops.push(a, b);
    const aChanges = follow(a);
    await waitFor('a to lead', () => a.isLeader(), 5000, 20);
    const bChanges = follow(b);
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    assert.equal(b.isLeader(), false, 'the lock is taken');
    assert.deepEqual(bChanges, []);

    // The leader's process dies: its session ends (what kill -9 does to the connection).
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and pid <> pg_backend_pid()");
      assert.equal(rowCount, 1, 'one session holds the advisory lock');
    } finally {
      await admin.end();
    }
    await waitFor('b to take over', () => b.isLeader(), 5000, 20);
    await waitFor('a to notice it lost the lock', () => !a.isLeader(), 5000, 20);
    assert.deepEqual(aChanges, [true, false]);

    // a competes again but b holds the lock; b stops and a leads at once.
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    assert.equal(a.isLeader(), false);
    await b.stop();
    assert.deepEqual(bChanges, [true, false]);
    await waitFor('a to lead again', () => a.isLeader(), 5000, 20);
    assert.deepEqual(aChanges, [true, false, true]);
  });

  test('an unreachable database is no leadership, not a crash', async () => {
    const nowhere = new PostgresLeadership('postgres://postgres@127.0.0.1:1/test', INTERVAL);
    stops.push(nowhere);
    const changes = follow(nowhere);
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    assert.equal(nowhere.isLeader(), false);
    assert.deepEqual(changes, []);
  });
});

describe('Redis lease', () => {
  const prefix = `corral-test-${randomBytes(5).toString('hex')}`;
  after(async () => { await cleanRedisKeys(REDIS_URL, prefix); });

  test('exactly one of two leads; a leader that stops renewing loses the lease to the other', async () => {
    const a = new RedisLeadership(REDIS_URL, prefix, 'a', INTERVAL);
    const b = new RedisLeadership(REDIS_URL, prefix, 'b', INTERVAL);
    const aChanges = follow(a);
    await waitFor('a to lead', () => a.isLeader(), 5000, 20);
    const bChanges = follow(b);
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    assert.equal(b.isLeader(), false);

    // a "dies": its lease is no longer renewed; b takes over once it runs out.
    (a as unknown as { redis: { disconnect(): void } }).redis.disconnect();
    await waitFor('b to take over', () => b.isLeader(), 5000, 20);
    await waitFor('a to notice', () => !a.isLeader(), 5000, 20);
    assert.deepEqual(aChanges, [true, false]);
    assert.deepEqual(bChanges, [true]);
    await a.stop();
    await b.stop();
    assert.deepEqual(bChanges, [true, false]);
  });
});
