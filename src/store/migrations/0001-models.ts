import type { Kysely } from 'kysely';

/** Creates the model repository's metadata table. Expects an empty database. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('file_path', 'varchar(512)', (c) => c.notNull())
    .addColumn('format', 'varchar(32)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('inputs_json', 'text', (c) => c.notNull())
    .addColumn('outputs_json', 'text', (c) => c.notNull())
    .addColumn('max_batch_size', 'integer')
    .addColumn('max_queue_delay_us', 'integer')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('models').execute();
}
