import { Redis } from 'ioredis';

/**
 * An ioredis connection as BullMQ wants it: commands wait through a Redis
 * restart (maxRetriesPerRequest: null) instead of failing, and reconnects back off.
 */
export function connectRedis(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
