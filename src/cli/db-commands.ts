import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { databaseTarget, DatabaseNewerThanCodeError, describeTarget, migrateToLatest, migrationStatus, openDatabase, type DatabaseTarget, type Db, type MigrationState } from '../store/index.js';
import { EXIT, ExitError } from './exit-error.js';
import { printTable } from './output.js';

/**
 * `corral db status|migrate`: the state database's schema, worked on directly (no gateway
 * needed), so an operator can migrate a shared PostgreSQL database once before rolling out gateways.
 */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the state database (CORRAL_DATABASE_URL, else CORRAL_HOME/corral.sqlite): schema migrations');

  db.command('status')
    .description('list each migration as applied or pending, with the database engine and location')
    .option('--home <dir>', 'state directory (CORRAL_HOME)')
    .action(async (opts: { home?: string }, cmd: Command) => {
      const target = targetOf(opts.home);
      const json = Boolean(cmd.optsWithGlobals().json);
      // A SQLite file that does not exist yet is reported, not created.
      const migrations = target.kind === 'sqlite' && !existsSync(target.path)
        ? await withDatabase({ kind: 'sqlite', path: ':memory:' }, migrationStatus)
        : await withDatabase(target, migrationStatus);
      const rows = migrations.map(statusRow);
      if (json) {
        console.log(JSON.stringify({ dialect: target.kind, database: describeTarget(target), migrations: rows }, null, 2));
        return;
      }
      console.log(`${target.kind} ${describeTarget(target)}`);
      printTable(rows, ['migration', 'status', 'applied_at'], false);
      if (rows.some((r) => r.status === 'unknown')) console.error('corral: the database has migrations this Corral does not know: a newer Corral migrated it.');
    });

  db.command('migrate')
    .description('apply the pending migrations and list them')
    .option('--home <dir>', 'state directory (CORRAL_HOME)')
    .action(async (opts: { home?: string }, cmd: Command) => {
      const target = targetOf(opts.home);
      if (target.kind === 'sqlite') mkdirSync(dirname(target.path), { recursive: true });
      const applied = await withDatabase(target, (d) => migrateToLatest(d, `The database ${describeTarget(target)}`));
      if (cmd.optsWithGlobals().json) {
        console.log(JSON.stringify({ dialect: target.kind, database: describeTarget(target), applied }, null, 2));
        return;
      }
      for (const name of applied) console.log(`applied ${name}`);
      console.log(applied.length === 0 ? `${describeTarget(target)} is up to date.` : `${applied.length} migration(s) applied to ${describeTarget(target)}.`);
    });
}

function targetOf(home: string | undefined): DatabaseTarget {
  try {
    return databaseTarget(loadConfig({ ...process.env, ...(home ? { CORRAL_HOME: home } : {}) }));
  } catch (err) {
    throw new ExitError((err as Error).message, EXIT.USAGE);
  }
}

/** Opens without migrating, runs `work`, closes; failures become one line naming the (password-free) database. */
async function withDatabase<T>(target: DatabaseTarget, work: (db: Db) => Promise<T>): Promise<T> {
  let db: Db | undefined;
  try {
    db = await openDatabase(target, { migrate: false });
    return await work(db);
  } catch (err) {
    if (err instanceof DatabaseNewerThanCodeError) throw new ExitError(err.message);
    const e = err as NodeJS.ErrnoException;
    throw new ExitError(`Cannot use the database ${describeTarget(target)}: ${e.message || e.code || String(err)}`);
  } finally {
    await db?.destroy();
  }
}

function statusRow(m: MigrationState): { migration: string; status: 'applied' | 'pending' | 'unknown'; applied_at: string | null } {
  return { migration: m.name, status: !m.known ? 'unknown' : m.appliedAt ? 'applied' : 'pending', applied_at: m.appliedAt };
}
