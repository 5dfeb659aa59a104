import type { ApiKeysTable } from '../store/schema.js';
import type { RateLimit } from './principal.js';
import type { Scope } from './scopes.js';

/** An API key as Corral keeps it: never the secret, only what it may do. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  /** Name globs of the models and services it may use; null = all. */
  models: string[] | null;
  rateLimit: RateLimit | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** An imported secret (scrypt-hashed) rather than one Corral generated. */
  imported: boolean;
}

export function keyFromRow(row: ApiKeysTable): ApiKey {
  return {
    id: row.id, name: row.name,
    scopes: JSON.parse(row.scopes_json) as Scope[],
    models: row.models_json === null ? null : JSON.parse(row.models_json) as string[],
    rateLimit: row.rate_limit_json === null ? null : JSON.parse(row.rate_limit_json) as RateLimit,
    expiresAt: row.expires_at, revokedAt: row.revoked_at,
    createdAt: row.created_at, updatedAt: row.updated_at,
    imported: row.hash_kind === 'scrypt',
  };
}

/** The key as the API shows it (snake_case, never the secret or its hash). */
export function keyView(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    models: key.models,
    rate_limit: key.rateLimit && {
      requests_per_minute: key.rateLimit.requestsPerMinute,
      burst: key.rateLimit.burst,
      ...(key.rateLimit.concurrency !== undefined ? { concurrency: key.rateLimit.concurrency } : {}),
    },
    expires_at: key.expiresAt,
    revoked_at: key.revokedAt,
    created_at: key.createdAt,
    updated_at: key.updatedAt,
    imported: key.imported,
  };
}
