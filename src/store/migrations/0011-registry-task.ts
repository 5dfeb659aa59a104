import type { Kysely } from 'kysely';

/** The task a registry snapshot serves (from its model card or config.json; NULL = none Corral runs, or unknown). Expects 0003. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('registry_models').addColumn('task', 'varchar(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('registry_models').dropColumn('task').execute();
}
