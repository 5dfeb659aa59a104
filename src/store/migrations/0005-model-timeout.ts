import type { Kysely } from 'kysely';

/** A model's own limit on one inference request (NULL = corral.json, then CORRAL_REQUEST_TIMEOUT_MS). Expects 0004. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('models').addColumn('timeout_ms', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('models').dropColumn('timeout_ms').execute();
}
