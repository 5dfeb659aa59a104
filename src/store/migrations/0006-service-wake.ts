import type { Kysely } from 'kysely';

/**
 * Scale-to-zero and wake-on-request for services (any profile), and the restart
 * count of services on boxes. Expects 0005.
 *
 * - `idle_minutes`: stop the service (SLEEPING) after this long with nothing in flight; NULL never.
 * - `wake_on_request`: a request to a SLEEPING, PREEMPTED or TIMEOUT service starts it (NULL: on when idle_minutes is set).
 * - `wake_max_queued`, `wake_timeout_s`: bounds on requests held while it starts (NULL: the defaults).
 * - `last_request_at`, `sleeping_since`: ISO times, for the API and the idle check.
 * - `restarts`: how often the service was restarted after its box was preempted, since it last ran steadily.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('services').addColumn('idle_minutes', 'real').execute();
  await db.schema.alterTable('services').addColumn('wake_on_request', 'integer').execute();
  await db.schema.alterTable('services').addColumn('wake_max_queued', 'integer').execute();
  await db.schema.alterTable('services').addColumn('wake_timeout_s', 'real').execute();
  await db.schema.alterTable('services').addColumn('last_request_at', 'text').execute();
  await db.schema.alterTable('services').addColumn('sleeping_since', 'text').execute();
  await db.schema.alterTable('services').addColumn('restarts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['idle_minutes', 'wake_on_request', 'wake_max_queued', 'wake_timeout_s', 'last_request_at', 'sleeping_since', 'restarts']) {
    await db.schema.alterTable('services').dropColumn(column).execute();
  }
}
