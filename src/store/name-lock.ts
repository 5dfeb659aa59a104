import { sql, type Kysely } from 'kysely';
import { databaseKind } from './database-kind.js';

/**
 * Makes writers of one name (a model's next version) take turns across every
 * gateway of a deployment, until the calling transaction ends: a transaction-scoped
 * advisory lock on PostgreSQL. SQLite belongs to one gateway, whose writes are
 * already one at a time.
 */
export async function lockName(trx: Kysely<any>, name: string): Promise<void> {
  if (databaseKind(trx) === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(trx);
}
