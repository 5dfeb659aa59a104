/**
 * The state database on each engine (SQLite, PostgreSQL): every migration's tables and
 * columns, the types the code relies on round-tripped through the real stores and read back
 * through a fresh connection (as after a restart), idempotent migration, and the refusal of a
 * database a newer Corral migrated.
 */
import assert from 'node:assert/strict';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { AuditLog, KeyStore } from '../../src/auth/index.js';
import { CorralError } from '../../src/errors/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { ModelRepository } from '../../src/repository/index.js';
import { ServiceRegistry } from '../../src/services/index.js';
import { loadConfig } from '../../src/config/index.js';
import { databaseKind, DatabaseNewerThanCodeError, databaseTarget, describeTarget, migrateToLatest, migrationStatus, openDatabase, type Db } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { TrainingStore } from '../../src/training/training-store.js';
import { WorkerPool } from '../../src/workers/index.js';
import { writeFixtureModels } from '../fixtures/index.js';
import { DIALECTS, useDatabase } from '../helpers/databases.js';

/** What migrations 0001..0011 leave, table by table. */
const TABLES: Record<string, string[]> = {
  api_keys: ['created_at', 'expires_at', 'hash_kind', 'id', 'lookup_hint', 'models_json', 'name', 'rate_limit_json', 'revoked_at', 'scopes_json', 'secret_hash', 'updated_at'],
  audit_log: ['action', 'at', 'detail_json', 'id', 'ip', 'key_id', 'key_name', 'target'],
  models: ['created_at', 'description', 'dim_names_json', 'file_path', 'format', 'inputs_json', 'max_batch_size', 'max_queue_delay_us', 'name', 'outputs_json', 'padding_json', 'sha256', 'size_bytes', 'timeout_ms', 'updated_at', 'version'],
  registry_models: ['discovered_at', 'model', 'path', 'profile', 'revision', 'size_bytes', 'source', 'task'],
  services: ['created_at', 'endpoint', 'host_credential', 'id', 'idle_minutes', 'job_id', 'last_request_at', 'max_batch_size', 'max_queue_delay_us', 'model', 'model_path', 'name', 'options_json', 'profile', 'reason', 'replicas', 'restarts', 'revision', 'runtime', 'sleeping_since', 'status', 'task', 'token_hash', 'updated_at', 'wake_max_queued', 'wake_on_request', 'wake_timeout_s'],
  training_jobs: ['created_at', 'error', 'exit_code', 'finished_at', 'has_dataset', 'id', 'log_offset', 'model_name', 'model_version', 'options_json', 'profile', 'requirements_sha256', 'slurm_job_id', 'started_at', 'state', 'tag', 'token_hash'],
};

let pool: WorkerPool;
before(() => {
  pool = new WorkerPool({
    size: 1, home: process.cwd(), allowRemoteModels: false, threadsPerWorker: 1, memoryBudgetBytes: 1024 ** 3, readyTimeoutMs: 30_000,
    metrics: createMetrics(), logger: pino({ level: 'silent' }),
  });
});
after(async () => { await pool?.close(); });

for (const dialect of DIALECTS) {
  describe(`state on ${dialect}`, () => {
    const suite = useDatabase(dialect, `corral-dialect-${dialect}-`);
    let db: Db;
    /** A second connection, as a restarted gateway (or another one) has. */
    const reopen = () => suite.database.open();
    const inspect = (runtime: string, path: string) => pool.inspect(runtime, path);
    before(async () => { db = await suite.database.open(); });

    test('opens as the dialect, with every table and column of every migration', async () => {
      assert.equal(databaseKind(db), dialect);
      const tables = await db.introspection.getTables();
      assert.deepEqual(tables.map((t) => t.name).sort(), Object.keys(TABLES));
      for (const table of tables) assert.deepEqual(table.columns.map((c) => c.name).sort(), TABLES[table.name], table.name);
      const status = await migrationStatus(db);
      assert.deepEqual(status.map((m) => m.name), Object.keys(MIGRATIONS));
      assert.equal(status.filter((m) => m.known && m.appliedAt !== null).length, 11);
    });

    test('models: JSON signatures, bigint sizes and settings survive a fresh connection; delete removes the row', async () => {
      const fixtures = writeFixtureModels(join(suite.home, 'fixtures'));
      const modelsDir = join(suite.home, 'models');
      const repo = await ModelRepository.open(db, modelsDir, inspect);
      const uploaded = await repo.upload('iris', createReadStream(fixtures.iris!));
      assert.equal(uploaded.sizeBytes, statSync(fixtures.iris!).size);
      await repo.describe('iris', 'Fisher’s iris, ünïcode');
      const set = await repo.setBatching('iris', { maxBatchSize: 8, maxQueueDelayMicroseconds: 250, timeoutMs: 1500, padding: false });
      assert.deepEqual(set.batching, { maxBatchSize: 8, maxQueueDelayMicroseconds: 250 });
      const again = await repo.upload('iris', createReadStream(fixtures.iris!));
      assert.equal(again.version, 2);

      const fresh = await ModelRepository.open(await reopen(), modelsDir, inspect);
      assert.deepEqual(fresh.list(), repo.list());
      const model = fresh.get('iris');
      assert.equal(typeof model.sizeBytes, 'number');
      assert.equal(model.description, 'Fisher’s iris, ünïcode');
      assert.equal(model.timeoutMs, 1500);
      assert.equal(model.padding, false);
      assert.deepEqual(model.inputs, uploaded.inputs);

      await repo.delete('iris');
      assert.deepEqual((await ModelRepository.open(await reopen(), modelsDir, inspect)).list(), []);
    });

    test('services: options JSON, wake flag as 1/0, 8-byte fractional minutes and counts survive a fresh connection', async () => {
      const repo = await ModelRepository.open(db, join(suite.home, 'models'), inspect);
      const services = await ServiceRegistry.open(db, repo);
      assert.deepEqual(services.list().map((s) => [s.name, s.replicas]), [['embed', 0], ['keyterms', 0], ['ocr', 0]]);
      const created = await services.create({
        name: 'svc', runtime: 'transformers', task: 'feature-extraction', model: 'org/model', modelPath: '/models/org/model', revision: 'abc123',
        options: { pooling: 'mean', nested: { list: [1, 2.5, null], flag: true } }, replicas: 2, batching: { maxBatchSize: 4 }, profile: 'local',
        idleMinutes: 0.123456789, wakeOnRequest: false, wakeMaxQueued: 5, wakeTimeoutS: 2.5,
      }, 'STOPPED');
      await services.setStatus(created.id, 'RUNNING', { endpoint: 'http://127.0.0.1:9', jobId: 'job-1' });
      await services.setLaunchToken(created.id, { tokenHash: 'a'.repeat(64), hostCredential: 'b'.repeat(64) });
      await services.setRestarts(created.id, 3);
      await services.recordLastRequest(created.id, '2026-12-03T10:00:00.000Z');

      const fresh = await ServiceRegistry.open(await reopen(), repo);
      assert.deepEqual(fresh.find('svc'), services.find('svc'));
      const svc = fresh.get('svc');
      assert.deepEqual(svc.options, { pooling: 'mean', nested: { list: [1, 2.5, null], flag: true } });
      assert.equal(svc.wakeOnRequest, false);
      assert.equal(svc.idleMinutes, 0.123456789, '8-byte floats, as SQLite keeps them');
      assert.equal(svc.wakeTimeoutS, 2.5);
      assert.equal(svc.restarts, 3);
      assert.equal(svc.status, 'RUNNING');
      assert.equal(svc.lastRequestAt, '2026-12-03T10:00:00.000Z');
      assert.deepEqual(fresh.list().map((s) => s.name), ['embed', 'keyterms', 'ocr', 'svc'], 'built-ins are not created twice');

      await services.setWakeOptions(created.id, { wakeOnRequest: true, idleMinutes: null });
      assert.equal((await ServiceRegistry.open(await reopen(), repo)).get('svc').wakeOnRequest, true);
      await services.delete('svc');
      assert.equal((await ServiceRegistry.open(await reopen(), repo)).find('svc'), undefined);
    });

    test('API keys: JSON scopes and limits, revocation, and a key made by another gateway found by lookup', async () => {
      const keys = await KeyStore.open(db);
      const elsewhere = await KeyStore.open(await reopen());
      const { key, secret } = await keys.create({
        name: 'ci', scopes: ['read', 'infer'], models: ['iris*'], rateLimit: { requestsPerMinute: 60, burst: 10 }, expiresAt: '2999-01-01T00:00:00.000Z',
      });
      const imported = await keys.create({ name: 'old', scopes: ['read'], secret: 'an-imported-secret-long-enough-1234' });
      await keys.update(key.id, { name: 'ci-2', models: null });
      await keys.revoke(imported.key.id);

      assert.equal((await elsewhere.authenticate(secret)).name, 'ci-2');
      const fresh = await KeyStore.open(await reopen());
      assert.deepEqual(fresh.list(), keys.list());
      assert.deepEqual(fresh.get(key.id).rateLimit, { requestsPerMinute: 60, burst: 10 });
      assert.equal(fresh.get(key.id).models, null);
      await assert.rejects(fresh.authenticate('an-imported-secret-long-enough-1234'), (err) => err instanceof CorralError && err.code === 'API_KEY_REVOKED');
    });

    test('audit log: entries with JSON detail and unlimited text, filtered and read back through a fresh connection', async () => {
      const audit = new AuditLog(db, pino({ level: 'silent' }));
      audit.record('key.create', { ip: '127.0.0.1' }, 'key:1', { scopes: ['read'], n: 2 });
      // Longer than the column's declared varchar(1024): SQLite never enforced it, so PostgreSQL must not either.
      audit.record('model.upload', { ip: '::1' }, 'm'.repeat(1500));
      assert.deepEqual((await audit.list()).map((e) => e.target?.length).sort(), [1500, 5]);
      const entries = await new AuditLog(await reopen(), pino({ level: 'silent' })).list({ action: 'key.create' });
      assert.deepEqual(entries.map(({ action, ip, target, detail, key_id }) => ({ action, ip, target, detail, key_id })),
        [{ action: 'key.create', ip: '127.0.0.1', target: 'key:1', detail: { scopes: ['read'], n: 2 }, key_id: null }]);
    });

    test('training jobs: flags and offsets come back as numbers; interrupted jobs are counted and failed', async () => {
      const store = new TrainingStore(db);
      const base = {
        tag: 't', model_name: 't.onnx', profile: 'local', options_json: '{"timeout_minutes":60}', requirements_sha256: null, has_dataset: 1,
        started_at: null, finished_at: null, exit_code: null, error: null, model_version: null, token_hash: null, slurm_job_id: null, log_offset: null,
      };
      await store.insert({ ...base, id: 'a', state: 'running', created_at: '2026-01-01T00:00:00.000Z' });
      await store.insert({ ...base, id: 'b', state: 'registered', created_at: '2026-01-02T00:00:00.000Z', model_version: 2 });
      await store.update('a', { slurm_job_id: '4242', log_offset: 123_456 });
      const fresh = new TrainingStore(await reopen());
      assert.deepEqual((await fresh.list()).map((r) => r.id), ['b', 'a']);
      const row = await fresh.get('a');
      assert.equal(row?.has_dataset, 1);
      assert.equal(row?.log_offset, 123_456);
      assert.equal(row?.slurm_job_id, '4242');
      assert.equal(await fresh.failInterrupted('2026-01-03T00:00:00.000Z'), 1);
      assert.equal(await fresh.failInterrupted('2026-01-03T00:00:00.000Z'), 0);
      assert.equal((await store.get('a'))?.state, 'failed');
    });

    test('registry: sizes past 32 bits as numbers, ordered by code units on every engine; the task kept', async () => {
      const row = { profile: 'local', revision: 'main', source: 'cache', discovered_at: '2026-01-01T00:00:00.000Z' };
      await db.insertInto('registry_models').values([
        { ...row, model: 'alpha/a', path: '/p/a', size_bytes: 5_000_000_000, task: 'text-generation' },
        { ...row, model: 'Zeta/b', path: '/p/b', size_bytes: 7, task: null },
      ]).execute();
      const entries = await new ModelRegistry(await reopen(), {} as ModelRepository, async () => '').list('local');
      assert.deepEqual(entries.map((e) => [e.model, e.sizeBytes, e.task]), [['Zeta/b', 7, null], ['alpha/a', 5_000_000_000, 'text-generation']]);
    });

    test('migrating again is a no-op', async () => {
      assert.deepEqual(await migrateToLatest(db), []);
      assert.deepEqual(await migrateToLatest(await reopen()), []);
      assert.equal((await migrationStatus(db)).filter((m) => m.appliedAt !== null).length, 11);
    });

    test('a database with a migration this code does not know is refused, naming it', async () => {
      await sql`insert into kysely_migration (name, timestamp) values ('9999-from-a-newer-corral', '2030-01-01T00:00:00.000Z')`.execute(db);
      try {
        await assert.rejects(reopen(), (err) => {
          assert.ok(err instanceof DatabaseNewerThanCodeError);
          assert.equal(err.message, `The database ${describeTarget(suite.database.target)} has migrations this version of Corral does not know `
            + '(9999-from-a-newer-corral): a newer Corral migrated it. Upgrade this Corral, or point it at another database.');
          return true;
        });
        assert.deepEqual((await migrationStatus(db)).filter((m) => !m.known), [{ name: '9999-from-a-newer-corral', appliedAt: '2030-01-01T00:00:00.000Z', known: false }]);
      } finally {
        await sql`delete from kysely_migration where name = '9999-from-a-newer-corral'`.execute(db);
      }
    });
  });
}

describe('choosing the database', () => {
  test('CORRAL_DATABASE_URL selects PostgreSQL, else CORRAL_HOME/corral.sqlite; only postgres URLs are accepted', () => {
    assert.deepEqual(databaseTarget(loadConfig({ CORRAL_HOME: '/srv/corral' })), { kind: 'sqlite', path: '/srv/corral/corral.sqlite' });
    assert.deepEqual(databaseTarget(loadConfig({ CORRAL_HOME: '/srv/corral', CORRAL_DATABASE_URL: 'postgresql://u:pw@db:5432/corral' })), { kind: 'postgres', url: 'postgresql://u:pw@db:5432/corral' });
    assert.throws(() => loadConfig({ CORRAL_DATABASE_URL: 'mysql://u:pw@db/corral' }), { message: 'CORRAL_DATABASE_URL must be a postgres:// or postgresql:// URL.' });
  });

  test('a database that cannot be reached is named without its password', async () => {
    assert.equal(describeTarget({ kind: 'postgres', url: 'postgres://u:pa%20ss@db:5432/corral' }), 'postgres://u:***@db:5432/corral');
    await assert.rejects(openDatabase({ kind: 'postgres', url: 'postgres://postgres:s3cret@127.0.0.1:1/corral' }),
      { message: 'Cannot use the database postgres://postgres:***@127.0.0.1:1/corral: connect ECONNREFUSED 127.0.0.1:1' });
  });
});
