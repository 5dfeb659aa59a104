import { PostgresAdapter, type Kysely } from 'kysely';

export type DatabaseKind = 'sqlite' | 'postgres';

/**
 * Which engine a Kysely instance (or a transaction or migration handle on it) talks to,
 * read from its adapter, for the few places that must differ.
 * @example if (databaseKind(db) === 'postgres') { ... }
 */
export function databaseKind(db: Kysely<any>): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
