import { hostname } from 'node:os';
import type { Leadership } from './leadership.js';
import { SoloLeadership } from './leadership.js';
import { PostgresLeadership } from './postgres-leadership.js';
import { RedisLeadership } from './redis-leadership.js';

export interface LeadershipSettings {
  /** CORRAL_DATABASE_URL: gateways share state only on PostgreSQL. */
  databaseUrl?: string;
  redisUrl?: string;
  queuePrefix: string;
  /** CORRAL_LEADER_LOCK: where the lock lives (default: the database). */
  lock: 'postgres' | 'redis';
}

/**
 * A gateway with its own SQLite state is alone and always leads; gateways sharing
 * a PostgreSQL database compete for its advisory lock, or for a Redis lease.
 */
export function leadershipFor(settings: LeadershipSettings): Leadership {
  if (!settings.databaseUrl) return new SoloLeadership();
  if (settings.lock === 'redis' && settings.redisUrl) {
    return new RedisLeadership(settings.redisUrl, settings.queuePrefix, `${hostname()}:${process.pid}`);
  }
  return new PostgresLeadership(settings.databaseUrl);
}
