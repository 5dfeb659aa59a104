import { sql, type Kysely } from 'kysely';

/**
 * Built-in services (embed, keyterms, ocr) run on every worker: replicas 0 means
 * "one per worker", so OCR at concurrency 4 uses every core. Rows made with the old
 * default of 1 move to it; a count someone chose stays. Expects 0002.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update services set replicas = 0 where model = 'builtin' and replicas = 1`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`update services set replicas = 1 where model = 'builtin' and replicas = 0`.execute(db);
}
