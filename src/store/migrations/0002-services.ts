import type { Kysely } from 'kysely';

/**
 * Services: named deployments of a model with a runtime and task. Expects
 * 0001. Lifecycle columns (status, profile, job_id, endpoint, reason) are
 * filled by the local launcher now and by the Slurm launcher later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('services')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('runtime', 'varchar(32)', (c) => c.notNull())
    .addColumn('task', 'varchar(64)', (c) => c.notNull())
    .addColumn('model', 'varchar(1024)', (c) => c.notNull())
    .addColumn('model_path', 'varchar(1024)', (c) => c.notNull())
    .addColumn('revision', 'varchar(128)')
    .addColumn('options_json', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('replicas', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('max_batch_size', 'integer')
    .addColumn('max_queue_delay_us', 'integer')
    .addColumn('profile', 'varchar(128)', (c) => c.notNull().defaultTo('local'))
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('job_id', 'varchar(64)')
    .addColumn('endpoint', 'varchar(512)')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('services').execute();
}
