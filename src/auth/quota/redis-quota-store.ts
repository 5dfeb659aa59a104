import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../queue/redis-connection.js';
import type { QuotaStore } from './quota-store.js';

// One Lua script per operation: Redis runs each atomically, so two gateways
// admitting at the same instant still count every request once. Redis's own
// clock (TIME) keeps gateways with skewed clocks consistent.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMs = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * perMs)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / perMs) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / perMs) + 60000)
return wait`;

// Leases are scored by their expiry, so a gateway that dies holding some frees them after LEASE_MS.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`;

// Lease ids only need to be unique across gateways: a random prefix per process and a counter.
const PROCESS = randomBytes(6).toString('base64url');
let leases = 0;

/** The longest a request may hold a concurrency slot if its gateway dies without releasing it. */
const LEASE_MS = 15 * 60_000;

/** Quota counters in Redis, shared by every gateway of a deployment. */
export class RedisQuotaStore implements QuotaStore {
  private readonly redis: Redis;

  constructor(redisUrl: string, private readonly prefix: string) {
    this.redis = connectRedis(redisUrl);
  }

  async take(key: string, perMinute: number, burst: number): Promise<number> {
    return Number(await this.redis.eval(TAKE, 1, `${this.prefix}:quota:rate:${key}`, perMinute, burst));
  }

  async acquire(key: string, limit: number): Promise<string | undefined> {
    const lease = `${PROCESS}.${leases++}`;
    return Number(await this.redis.eval(ACQUIRE, 1, `${this.prefix}:quota:conc:${key}`, lease, limit, LEASE_MS)) === 1 ? lease : undefined;
  }

  async release(key: string, lease: string): Promise<void> {
    await this.redis.zrem(`${this.prefix}:quota:conc:${key}`, lease);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
