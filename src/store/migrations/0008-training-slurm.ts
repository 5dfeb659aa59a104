import type { Kysely } from 'kysely';

/**
 * Training jobs on Slurm profiles. Expects 0007.
 *
 * - `token_hash`: SHA-256 (hex) of the job's upload token; the batch script holds the token itself
 *   (PUT /api/v1/train/jobs/<id>/output). NULL for jobs that run in the gateway.
 * - `slurm_job_id`: the batch job, once submitted; a restarted gateway re-attaches to it.
 * - `log_offset`: how many bytes of the job's log on the cluster are already in the gateway's copy.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('training_jobs').addColumn('token_hash', 'varchar(64)').execute();
  await db.schema.alterTable('training_jobs').addColumn('slurm_job_id', 'varchar(32)').execute();
  await db.schema.alterTable('training_jobs').addColumn('log_offset', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['token_hash', 'slurm_job_id', 'log_offset']) {
    await db.schema.alterTable('training_jobs').dropColumn(column).execute();
  }
}
