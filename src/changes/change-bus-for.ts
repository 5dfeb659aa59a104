import type { ChangeBus } from './change-bus.js';
import { PostgresChanges } from './postgres-changes.js';
import { RedisChanges } from './redis-changes.js';

/**
 * How gateways hear of each other's changes: LISTEN/NOTIFY on the shared
 * PostgreSQL database, else Redis pub/sub (gateways with their own SQLite files
 * still share key revocations), else nothing (one gateway).
 */
export function changeBusFor(settings: { databaseUrl?: string; redisUrl?: string; queuePrefix: string }): ChangeBus | undefined {
  if (settings.databaseUrl) return new PostgresChanges(settings.databaseUrl);
  if (settings.redisUrl) return new RedisChanges(settings.redisUrl, settings.queuePrefix);
  return undefined;
}
