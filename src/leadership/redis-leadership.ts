import type { Redis } from 'ioredis';
import { connectRedis } from '../queue/redis-connection.js';
import { PolledLeadership } from './leadership.js';

/** Renews the lease only while it is still ours (a leader that stalled past its lease must not take it back blindly). */
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Leadership through a Redis lease (SET NX PX, renewed every poll): a leader that
 * dies stops renewing and another gateway takes over when the lease runs out
 * (three polls).
 */
export class RedisLeadership extends PolledLeadership {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly key: string;
  private readonly leaseMs: number;

  constructor(url: string, prefix: string, private readonly id: string, intervalMs = 1000) {
    super(intervalMs);
    this.redis = connectRedis(url);
    this.redis.on('error', () => undefined); // a failed command deposes; reconnects back off
    this.key = `${prefix}:leader`;
    this.leaseMs = intervalMs * 3;
  }

  protected async acquire(): Promise<boolean> {
    return (await this.redis.set(this.key, this.id, 'PX', this.leaseMs, 'NX')) === 'OK';
  }

  protected async holds(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.id, this.leaseMs)) === 1;
  }

  protected async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.id).catch(() => undefined);
    this.redis.disconnect();
  }
}
