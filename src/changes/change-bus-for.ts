import type { ChangeBus } from './change-bus.js';

/**
 * How gateways hear of each other's changes: LISTEN/NOTIFY on the shared
 * PostgreSQL database, else Redis pub/sub (gateways with their own SQLite files
 * still share key revocations), else nothing (one gateway). pg and ioredis are
 * loaded only when used.
 */
export async function changeBusFor(settings: { databaseUrl?: string; redisUrl?: string; queuePrefix: string }): Promise<ChangeBus | undefined> {
  if (settings.databaseUrl) return new (await import('./postgres-changes.js')).PostgresChanges(settings.databaseUrl);
  if (settings.redisUrl) return new (await import('./redis-changes.js')).RedisChanges(settings.redisUrl, settings.queuePrefix);
  return undefined;
}
