import type { Kysely } from 'kysely';

/**
 * Training jobs (POST /api/v1/train/...): a script run on a profile whose output
 * model is registered in the repository. Their files and logs live under
 * CORRAL_HOME/training/jobs/<id>/. Expects 0006.
 *
 * - `state`: queued, installing, running, validating, registered, failed, timeout, cancelled.
 * - `options_json`: timeout_minutes, memory, cpus, gpus as asked for.
 * - `requirements_sha256`: the requirements file's hash (the virtual environment it runs in); NULL without one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('training_jobs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tag', 'varchar(128)', (c) => c.notNull())
    .addColumn('model_name', 'varchar(128)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('profile', 'varchar(128)', (c) => c.notNull())
    .addColumn('options_json', 'text', (c) => c.notNull())
    .addColumn('requirements_sha256', 'varchar(64)')
    .addColumn('has_dataset', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(32)')
    .addColumn('finished_at', 'varchar(32)')
    .addColumn('exit_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('model_version', 'integer')
    .execute();
  await db.schema.createIndex('training_jobs_created_at').on('training_jobs').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('training_jobs').execute();
}
