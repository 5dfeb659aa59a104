import type { Kysely } from 'kysely';

/**
 * Padded batching of token models. Expects 0008.
 * dim_names_json: the signature's symbolic dim names (NULL for models uploaded before: re-upload to get them).
 * padding_json: the model's `padding` setting, a JSON object or `false` (NULL = automatic).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('models').addColumn('dim_names_json', 'text').execute();
  await db.schema.alterTable('models').addColumn('padding_json', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('models').dropColumn('padding_json').execute();
  await db.schema.alterTable('models').dropColumn('dim_names_json').execute();
}
