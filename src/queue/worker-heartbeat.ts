import type { Redis } from 'ioredis';
import type { RedisNames } from './redis-names.js';

/** What a remote worker publishes about itself every few seconds. */
export interface Heartbeat {
  id: string;
  host: string;
  pid: number;
  /** Services it serves; empty = every service. */
  services: string[];
  concurrency: number;
  active: number;
  /** Jobs finished since the worker started. */
  processed: number;
  rssBytes: number;
  loadedModels: string[];
  startedAt: string;
  lastSeen: string;
}

/** A heartbeat older than this means the worker is gone. */
export const HEARTBEAT_TTL_SECONDS = 10;

export async function publishHeartbeat(redis: Redis, names: RedisNames, beat: Heartbeat): Promise<void> {
  await redis.set(names.workerKey(beat.id), JSON.stringify(beat), 'EX', HEARTBEAT_TTL_SECONDS);
}

/** The live workers, read with SCAN so a large fleet does not block Redis. */
export async function readHeartbeats(redis: Redis, names: RedisNames): Promise<Heartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', names.workerPattern, 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Heartbeat);
}
