/** A value now (the in-memory store) or later (Redis): callers await only when they must. */
export type Maybe<T> = T | Promise<T>;

/**
 * Where quota counters live: this process (one gateway) or Redis (every
 * gateway of a deployment admits a key's limit once in total). Both are
 * atomic per call, so concurrent requests cannot slip past a limit.
 */
export interface QuotaStore {
  /**
   * Token bucket: takes one token from `key` (capacity `burst`, refilled at
   * `perMinute`); answers 0 when admitted, else milliseconds until a token is back.
   */
  take(key: string, perMinute: number, burst: number): Maybe<number>;
  /** Holds one of `limit` concurrent slots under `key`: the lease to release, or undefined when all are taken. */
  acquire(key: string, limit: number): Maybe<string | undefined>;
  release(key: string, lease: string): Maybe<void>;
  close(): Promise<void>;
}
