/**
 * The state tests run once per engine, as Kysely tests itself: a fresh SQLite file, and a
 * fresh PostgreSQL database (CREATE DATABASE corral_test_<random> on the server at
 * CORRAL_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped
 * again in `after` even when a test failed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { openDatabase, type DatabaseKind, type DatabaseTarget, type Db } from '../../src/store/index.js';

export const DIALECTS: readonly DatabaseKind[] = ['sqlite', 'postgres'];

const ADMIN_URL = process.env.CORRAL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDatabase {
  dialect: DatabaseKind;
  target: DatabaseTarget;
  /** What a gateway needs in its environment to use this database (for SQLite: nothing, it is CORRAL_HOME/corral.sqlite). */
  env: Record<string, string>;
  /** Opens (and migrates) it; each call is a new connection, as after a restart. drop() closes what is still open. */
  open(): Promise<Db>;
  /** Closes every Db open() returned, then removes the database; safe to call twice. */
  drop(): Promise<void>;
}

/** An empty database of the dialect; a SQLite one is `home`/corral.sqlite, as a gateway with CORRAL_HOME=home opens it. */
export async function freshDatabase(dialect: DatabaseKind, home: string): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const target: DatabaseTarget = { kind: 'sqlite', path: join(home, 'corral.sqlite') };
    return tracked(dialect, target, {}, async () => rmSync(target.path, { force: true }));
  }
  const name = `corral_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const target: DatabaseTarget = { kind: 'postgres', url: url.toString() };
  // FORCE: connections a failed test left open must not keep the database alive.
  return tracked(dialect, target, { CORRAL_DATABASE_URL: target.url }, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Every Db opened is closed before the database goes (Kysely's destroy may be called twice), so hook order does not matter. */
function tracked(dialect: DatabaseKind, target: DatabaseTarget, env: Record<string, string>, remove: () => Promise<void>): FreshDatabase {
  const opened: Db[] = [];
  return {
    dialect, target, env,
    async open() {
      const db = await openDatabase(target);
      opened.push(db);
      return db;
    },
    async drop() {
      await Promise.all(opened.splice(0).map((db) => db.destroy()));
      await remove();
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface DialectSuite {
  /** A temporary directory for this dialect's suite (CORRAL_HOME, fixtures); removed in `after`. */
  home: string;
  database: FreshDatabase;
}

/**
 * Registers before/after hooks in the current describe: a temporary home and a fresh database
 * of the dialect, both removed afterwards whatever happened. Read the fields inside tests.
 * @example for (const dialect of DIALECTS) describe(dialect, () => { const suite = useDatabase(dialect); ... });
 */
export function useDatabase(dialect: DatabaseKind, prefix = 'corral-db-'): DialectSuite {
  const suite = {} as DialectSuite;
  before(async () => {
    suite.home = mkdtempSync(join(tmpdir(), prefix));
    suite.database = await freshDatabase(dialect, suite.home);
  });
  after(async () => {
    await suite.database?.drop();
    if (suite.home) rmSync(suite.home, { recursive: true, force: true });
  });
  return suite;
}
