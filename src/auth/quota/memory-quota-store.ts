import type { QuotaStore } from './quota-store.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Quota counters in this process: right for one gateway, and the default. Synchronous: no request waits on it. */
export class MemoryQuotaStore implements QuotaStore {
  private readonly buckets = new Map<string, Bucket>();
  /** Requests in flight per key (leases need no identity in one process). */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  take(key: string, perMinute: number, burst: number): number {
    const now = this.now();
    const perMs = perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, bucket = { tokens: burst, at: now });
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / perMs);
  }

  acquire(key: string, limit: number): string | undefined {
    const held = this.inFlight.get(key) ?? 0;
    if (held >= limit) return undefined;
    this.inFlight.set(key, held + 1);
    return '';
  }

  release(key: string): void {
    const held = (this.inFlight.get(key) ?? 1) - 1;
    if (held <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, held);
  }

  async close(): Promise<void> {}
}
