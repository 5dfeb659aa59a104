import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { describeTarget, type DatabaseTarget } from './database-target.js';
import { DatabaseNewerThanCodeError, migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Bring the schema up to date (default). `corral db status` opens without it. */
  migrate?: boolean;
}

/**
 * Opens the state database and (by default) brings its schema up to date. A string is
 * a SQLite file path. Throws DatabaseNewerThanCodeError for a database a newer Corral migrated.
 * @example const db = await openDatabase(databaseTarget(config));
 */
export async function openDatabase(target: DatabaseTarget | string, options: OpenOptions = {}): Promise<Db> {
  const where = typeof target === 'string' ? { kind: 'sqlite' as const, path: target } : target;
  const db = where.kind === 'postgres' ? await openPostgres(where.url) : openSqlite(where.path);
  if (options.migrate === false) return db;
  try {
    await migrateToLatest(db, `The database ${describeTarget(where)}`);
  } catch (err) {
    await db.destroy();
    if (err instanceof DatabaseNewerThanCodeError) throw err;
    // One line that says which database (never its password) and why: `corral start` prints it as it is.
    const e = err as NodeJS.ErrnoException;
    throw new Error(`Cannot use the database ${describeTarget(where)}: ${e.message || e.code || String(err)}`, { cause: err });
  }
  return db;
}

/** WAL mode lets readers proceed while an upload commits. */
function openSqlite(path: string): Db {
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/** pg is loaded only when a gateway uses PostgreSQL. */
async function openPostgres(url: string): Promise<Db> {
  const { Pool } = (await import('pg')).default;
  const pool = new Pool({ connectionString: url, max: 10 });
  // An idle connection the server dropped (a restart) must not crash the gateway; the next query reports it.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
