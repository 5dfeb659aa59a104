/**
 * `corral db status|migrate` through the real binary, on each engine, working on the
 * database directly (no gateway). bin/corral.js runs dist/ when it exists: build it first
 * (npx tsc -p tsconfig.build.json), as npm test does.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { describeTarget, openDatabase } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { DIALECTS, useDatabase } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';

const NAMES = Object.keys(MIGRATIONS);
const NO_GATEWAY = 'http://127.0.0.1:9';

interface StatusJson {
  dialect: string;
  database: string;
  migrations: Array<{ migration: string; status: string; applied_at: string | null }>;
}

for (const dialect of DIALECTS) {
  describe(`corral db on ${dialect}`, () => {
    const suite = useDatabase(dialect, `corral-db-cli-${dialect}-`);
    // SQLite: CORRAL_HOME/corral.sqlite; an inherited CORRAL_DATABASE_URL is cleared.
    const env = () => ({ CORRAL_HOME: suite.home, CORRAL_DATABASE_URL: '', ...suite.database.env });
    const db = (...args: string[]) => runCli(NO_GATEWAY, ['db', ...args], env());
    const where = () => describeTarget(suite.database.target);

    test('status on a new database lists every migration as pending (and creates no SQLite file)', async () => {
      const res = await db('status');
      assert.equal(res.code, 0, res.stderr);
      const lines = res.stdout.trimEnd().split('\n');
      assert.equal(lines[0], `${dialect} ${where()}`);
      assert.match(lines[1]!, /^MIGRATION\s+STATUS\s+APPLIED_AT$/);
      assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)), NAMES.map((n) => [n, 'pending', '-']));
      if (dialect === 'sqlite') assert.equal(existsSync(suite.database.target.kind === 'sqlite' ? suite.database.target.path : ''), false);
    });

    test('migrate applies each pending migration and says so; a second run has nothing to do', async () => {
      const first = await db('migrate');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, [...NAMES.map((n) => `applied ${n}`), `${NAMES.length} migration(s) applied to ${where()}.`, ''].join('\n'));
      const second = await db('migrate');
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, `${where()} is up to date.\n`);
      const status = JSON.parse((await runCli(NO_GATEWAY, ['--json', 'db', 'status'], env())).stdout) as StatusJson;
      assert.equal(status.dialect, dialect);
      assert.equal(status.database, where());
      assert.deepEqual(status.migrations.map((m) => [m.migration, m.status]), NAMES.map((n) => [n, 'applied']));
      assert.ok(status.migrations.every((m) => m.applied_at !== null && !Number.isNaN(Date.parse(m.applied_at))));
    });

    test('a migration from a newer Corral: status shows it as unknown, migrate refuses with exit code 1', async () => {
      const handle = await openDatabase(suite.database.target, { migrate: false });
      try {
        await sql`insert into kysely_migration (name, timestamp) values ('9999-newer', '2030-01-01T00:00:00.000Z')`.execute(handle);
      } finally {
        await handle.destroy();
      }
      const status = JSON.parse((await runCli(NO_GATEWAY, ['--json', 'db', 'status'], env())).stdout) as StatusJson;
      assert.deepEqual(status.migrations.at(-1), { migration: '9999-newer', status: 'unknown', applied_at: '2030-01-01T00:00:00.000Z' });
      const refused = await db('migrate');
      assert.equal(refused.code, 1);
      assert.equal(refused.stdout, '');
      assert.equal(refused.stderr, `corral: The database ${where()} has migrations this version of Corral does not know (9999-newer): `
        + 'a newer Corral migrated it. Upgrade this Corral, or point it at another database.\n');
    });

    if (dialect === 'postgres') {
      test('a password in CORRAL_DATABASE_URL is never printed', async () => {
        const url = new URL(suite.database.env.CORRAL_DATABASE_URL!);
        url.password = 's3cret-pw'; // trust auth ignores it: the command connects and prints the URL
        const res = await runCli(NO_GATEWAY, ['db', 'status'], { ...env(), CORRAL_DATABASE_URL: url.toString() });
        assert.equal(res.code, 0, res.stderr);
        url.password = '***';
        assert.equal(res.stdout.split('\n')[0], `postgres ${url.toString()}`);
        assert.equal(`${res.stdout}${res.stderr}`.includes('s3cret-pw'), false);
        const unreachable = await runCli(NO_GATEWAY, ['db', 'migrate'], { ...env(), CORRAL_DATABASE_URL: 'postgres://postgres:s3cret-pw@127.0.0.1:1/corral' });
        assert.equal(unreachable.code, 1);
        assert.equal(unreachable.stderr, 'corral: Cannot use the database postgres://postgres:***@127.0.0.1:1/corral: connect ECONNREFUSED 127.0.0.1:1\n');
      });
    }
  });
}
