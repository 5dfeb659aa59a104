import { DEFAULT_MIGRATION_TABLE, Migrator, sql, type Kysely, type MigrationProvider } from 'kysely';
import { databaseKind } from './database-kind.js';
import { MIGRATIONS } from './migrations/index.js';
import { PortableDdlPlugin } from './portable-ddl.js';

/**
 * The database was migrated by a newer Corral: its applied migrations include names
 * this code does not have. Starting anyway could misread or damage its state.
 */
export class DatabaseNewerThanCodeError extends Error {
  constructor(readonly unknownMigrations: string[], where = 'The database') {
    super(`${where} has migrations this version of Corral does not know (${unknownMigrations.join(', ')}): `
      + 'a newer Corral migrated it. Upgrade this Corral, or point it at another database.');
    this.name = 'DatabaseNewerThanCodeError';
  }
}

export interface MigrationState {
  name: string;
  /** When it was applied (ISO), or null while pending. */
  appliedAt: string | null;
  /** False for a migration the database has but this code does not (a newer Corral's). */
  known: boolean;
}

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

function migrator(db: Kysely<any>): Migrator {
  // PostgreSQL gets SQLite's effective column types (see portable-ddl.ts).
  return new Migrator({ db: databaseKind(db) === 'postgres' ? db.withPlugin(new PortableDdlPlugin()) : db, provider });
}

/** Names of the migrations the database records as applied (none on a new database). */
async function appliedMigrations(db: Kysely<any>): Promise<Array<{ name: string; timestamp: string }>> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === DEFAULT_MIGRATION_TABLE)) return [];
  const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db);
  return rows;
}

/** Every migration of this code (applied or pending), then any the database has that this code does not. */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationState[]> {
  const applied = await appliedMigrations(db);
  const known = Object.keys(MIGRATIONS).sort().map((name) => ({ name, appliedAt: applied.find((a) => a.name === name)?.timestamp ?? null, known: true }));
  const unknown = applied.filter((a) => !(a.name in MIGRATIONS)).map((a) => ({ name: a.name, appliedAt: a.timestamp, known: false }));
  return [...known, ...unknown];
}

/**
 * Applies the pending migrations and returns their names (none when up to date).
 * Refuses a database a newer Corral migrated. Gateways starting at once are safe:
 * Kysely's Migrator holds a lock (an advisory lock on PostgreSQL) while it runs.
 * @example const applied = await migrateToLatest(db);
 */
export async function migrateToLatest(db: Kysely<any>, where = 'The database'): Promise<string[]> {
  const unknown = (await migrationStatus(db)).filter((m) => !m.known).map((m) => m.name);
  if (unknown.length > 0) throw new DatabaseNewerThanCodeError(unknown, where);
  const { error, results } = await migrator(db).migrateToLatest();
  // A newer gateway may have migrated between the check and the lock; Kysely then names the missing migration.
  const missing = /previously executed migration (\S+) is missing/.exec(String(error));
  if (missing) throw new DatabaseNewerThanCodeError([missing[1]!], where);
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
