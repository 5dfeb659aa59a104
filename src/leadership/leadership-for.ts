import { hostname } from 'node:os';
import { SoloLeadership, type Leadership } from './leadership.js';

export interface LeadershipSettings {
  /** CORRAL_DATABASE_URL: gateways share state only on PostgreSQL. */
  databaseUrl?: string;
  redisUrl?: string;
  queuePrefix: string;
  /** CORRAL_LEADER_LOCK: where the lock lives (default: the database). */
  leaderLock: 'postgres' | 'redis';
}

/**
 * A gateway with its own SQLite state is alone and always leads; gateways sharing
 * a PostgreSQL database compete for its advisory lock, or for a Redis lease.
 * (pg and ioredis are loaded only when used.)
 */
export async function leadershipFor(settings: LeadershipSettings): Promise<Leadership> {
  if (!settings.databaseUrl) return new SoloLeadership();
  if (settings.leaderLock === 'redis' && settings.redisUrl) {
    const { RedisLeadership } = await import('./redis-leadership.js');
    return new RedisLeadership(settings.redisUrl, settings.queuePrefix, `${hostname()}:${process.pid}`);
  }
  const { PostgresLeadership } = await import('./postgres-leadership.js');
  return new PostgresLeadership(settings.databaseUrl);
}
