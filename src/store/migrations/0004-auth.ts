import type { Kysely } from 'kysely';

/**
 * API keys (only hashes of their secrets), the audit log, and each cluster
 * service's launch token (its hash, and the credential the gateway presents to
 * the job's host). Expects 0003.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    // 'sha256' for the random secrets Corral issues; 'scrypt' for imported ones, which may be weak.
    .addColumn('hash_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(256)', (c) => c.notNull())
    // First hex digits of the secret's SHA-256: which scrypt hashes to try, never enough to find a secret.
    .addColumn('lookup_hint', 'varchar(8)', (c) => c.notNull())
    .addColumn('scopes_json', 'text', (c) => c.notNull())
    .addColumn('models_json', 'text')
    .addColumn('rate_limit_json', 'text')
    .addColumn('expires_at', 'varchar(32)')
    .addColumn('revoked_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_keys_secret_hash').on('api_keys').column('secret_hash').execute();
  await db.schema.createIndex('api_keys_lookup_hint').on('api_keys').column('lookup_hint').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('at', 'varchar(32)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('key_id', 'varchar(36)')
    .addColumn('key_name', 'varchar(128)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('target', 'varchar(1024)')
    .addColumn('detail_json', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

  await db.schema.alterTable('services').addColumn('token_hash', 'varchar(64)').execute();
  await db.schema.alterTable('services').addColumn('host_credential', 'varchar(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('services').dropColumn('host_credential').execute();
  await db.schema.alterTable('services').dropColumn('token_hash').execute();
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('api_keys').execute();
}
