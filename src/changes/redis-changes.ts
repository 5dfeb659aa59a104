import type { Redis } from 'ioredis';
import { connectRedis } from '../queue/redis-connection.js';
import { changeMessage, TopicListeners, type ChangeBus, type ChangeTopic } from './change-bus.js';

/** Changes between gateways over Redis pub/sub (when the state is not on PostgreSQL). */
export class RedisChanges implements ChangeBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly listeners = new TopicListeners();
  private subscribed: Promise<unknown> | undefined;

  constructor(redisUrl: string, prefix: string) {
    this.pub = connectRedis(redisUrl);
    this.sub = connectRedis(redisUrl);
    this.channel = `${prefix}:changes`;
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.listeners.deliver(message);
    });
  }

  async publish(topic: ChangeTopic, id: string): Promise<void> {
    await this.pub.publish(this.channel, changeMessage(topic, id));
  }

  async subscribe(topic: ChangeTopic, listener: (id: string) => void): Promise<void> {
    this.listeners.add(topic, listener);
    await (this.subscribed ??= this.sub.subscribe(this.channel));
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
