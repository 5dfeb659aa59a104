import type { QuotaStore } from './quota-store.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Quota counters in this process: right for one gateway, and the default. */
export class MemoryQuotaStore implements QuotaStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly slots = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, perMinute: number, burst: number): Promise<number> {
    const now = this.now();
    const perMs = perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / perMs);
  }

  async acquire(key: string, lease: string, limit: number): Promise<boolean> {
    const held = this.slots.get(key) ?? new Set<string>();
    if (held.size >= limit) return false;
    held.add(lease);
    this.slots.set(key, held);
    return true;
  }

  async release(key: string, lease: string): Promise<void> {
    const held = this.slots.get(key);
    held?.delete(lease);
    if (held?.size === 0) this.slots.delete(key);
  }

  async close(): Promise<void> {}
}
