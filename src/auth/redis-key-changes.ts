import type { Redis } from 'ioredis';
import { connectRedis } from '../queue/redis-connection.js';
import type { KeyChangeBus } from './key-store.js';

/**
 * Key changes between gateways over Redis pub/sub: a revocation on one
 * gateway is refused by every other within one round trip.
 */
export class RedisKeyChanges implements KeyChangeBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;

  constructor(redisUrl: string, prefix: string) {
    this.pub = connectRedis(redisUrl);
    this.sub = connectRedis(redisUrl);
    this.channel = `${prefix}:auth:keys`;
  }

  async publish(keyId: string): Promise<void> {
    await this.pub.publish(this.channel, keyId);
  }

  async subscribe(listener: (keyId: string) => void): Promise<void> {
    await this.sub.subscribe(this.channel);
    this.sub.on('message', (channel: string, keyId: string) => {
      if (channel === this.channel) listener(keyId);
    });
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
