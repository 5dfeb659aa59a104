import { CorralError } from '../../errors/index.js';
import type { QuotaStore } from './quota-store.js';

/**
 * Slows key guessing: each failed authentication from an address spends a
 * token of its bucket (`perMinute`, burst the same); once the bucket is empty
 * the address gets 429 before its credential is even looked at.
 */
export class FailedAuthLimiter {
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly store: QuotaStore, private readonly perMinute: number) {}

  /** Cheap check first: most of the time no address is blocked. */
  get anyBlocked(): boolean {
    return this.blockedUntil.size > 0;
  }

  assertAllowed(ip: string): void {
    const until = this.blockedUntil.get(ip);
    if (until === undefined) return;
    const waitMs = until - Date.now();
    if (waitMs <= 0) {
      this.blockedUntil.delete(ip);
      return;
    }
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new CorralError('RATE_LIMITED', `Too many failed authentications from ${ip}; retry in ${seconds} s.`, { headers: { 'retry-after': String(seconds) } });
  }

  /** Records a failure; the one past the limit is answered 429 itself (thrown here). */
  async failed(ip: string): Promise<void> {
    const waitMs = await this.store.take(`authfail:${ip}`, this.perMinute, this.perMinute);
    if (waitMs <= 0) return;
    this.blockedUntil.set(ip, Date.now() + waitMs);
    this.assertAllowed(ip);
  }
}
