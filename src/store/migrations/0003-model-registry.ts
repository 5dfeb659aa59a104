import type { Kysely } from 'kysely';

/** Models discovered per profile (Hugging Face snapshots and the ONNX repository). Expects 0002. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('registry_models')
    .addColumn('profile', 'varchar(128)', (c) => c.notNull())
    .addColumn('model', 'varchar(256)', (c) => c.notNull())
    .addColumn('revision', 'varchar(128)', (c) => c.notNull())
    .addColumn('path', 'varchar(1024)', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('source', 'varchar(16)', (c) => c.notNull())
    .addColumn('discovered_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('registry_models_pk', ['profile', 'path'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registry_models').execute();
}
