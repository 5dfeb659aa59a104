// The change bus between gateways, on the real PostgreSQL (LISTEN/NOTIFY) and Redis (pub/sub).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { ChangeBus } from '../../src/changes/change-bus.js';
import { PostgresChanges } from '../../src/changes/postgres-changes.js';
import { RedisChanges } from '../../src/changes/redis-changes.js';
import { cleanRedisKeys, waitFor } from '../helpers/scale-out.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `corral-test-${randomBytes(5).toString('hex')}`;

const buses: Record<string, () => ChangeBus> = {
  postgres: () => new PostgresChanges(PG_URL),
  redis: () => new RedisChanges(REDIS_URL, prefix),
};

for (const [kind, make] of Object.entries(buses)) {
  describe(`${kind} changes`, () => {
    const open: ChangeBus[] = [];
    after(async () => {
      await Promise.all(open.map((b) => b.close()));
      if (kind === 'redis') await cleanRedisKeys(REDIS_URL, prefix);
    });

    test("one gateway's change reaches the other's listeners of that topic only, its own too", async () => {
      const a = make();
      const b = make();
      open.push(a, b);
      const heard: string[] = [];
      await b.subscribe('models', (id) => heard.push(`b models ${id}`));
      await b.subscribe('keys', (id) => heard.push(`b keys ${id}`));
      await a.subscribe('models', (id) => heard.push(`a models ${id}`));
      await a.publish('models', 'iris.onnx');
      await a.publish('keys', 'k1');
      await waitFor('the three deliveries', () => heard.length === 3, 5000, 10);
      await new Promise((r) => setTimeout(r, 200)); // and no fourth (a does not listen to keys)
      assert.deepEqual(heard.sort(), ['a models iris.onnx', 'b keys k1', 'b models iris.onnx']);
    });
  });
}

describe('postgres changes, what only LISTEN/NOTIFY gives', () => {
  const open: ChangeBus[] = [];
  after(async () => { await Promise.all(open.map((b) => b.close())); });

  test('a change written in a transaction is heard when it commits, not before', async () => {
    const bus = new PostgresChanges(PG_URL);
    open.push(bus);
    const heard: string[] = [];
    await bus.subscribe('services', (id) => heard.push(id));
    const writer = new pg.Client({ connectionString: PG_URL });
    await writer.connect();
    try {
      await writer.query('begin');
      await writer.query('select pg_notify($1, $2)', ['corral_changes', JSON.stringify({ topic: 'services', id: 's1' })]);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(heard, [], 'not before the commit');
      await writer.query('commit');
      await waitFor('the committed change', () => heard.length === 1, 5000, 10);
      assert.deepEqual(heard, ['s1']);
    } finally {
      await writer.end();
    }
  });

  test('after its connection is killed the bus listens again', async () => {
    const bus = new PostgresChanges(PG_URL);
    open.push(bus);
    const heard: string[] = [];
    await bus.subscribe('services', (id) => heard.push(id));
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'corral-changes' and query = 'listen corral_changes'");
      assert.ok(rowCount! >= 1, 'a listening session was terminated');
      // Published from elsewhere until the bus is back and hears one.
      await waitFor('the bus to hear a change again', async () => {
        await admin.query('select pg_notify($1, $2)', ['corral_changes', JSON.stringify({ topic: 'services', id: 'again' })]);
        return heard.includes('again');
      }, 10_000, 200);
    } finally {
      await admin.end();
    }
  });
});
