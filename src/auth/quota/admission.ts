import { CorralError } from '../../errors/index.js';
import type { Principal } from '../principal.js';
import type { Maybe, QuotaStore } from './quota-store.js';

type Release = () => void;

/**
 * A key's quota, checked when a request is admitted: one token of its
 * requests-per-minute bucket (spent whether the request then succeeds or
 * fails), then a concurrency slot held until the response ends or the client
 * goes away. Gives the release function (or undefined without a concurrency
 * limit), or throws 429 with Retry-After. Synchronous with the in-memory
 * store, so the common case adds no turn of the event loop; a promise with Redis.
 */
export function admit(store: QuotaStore, principal: Principal): Maybe<Release | undefined> {
  const limit = principal.rateLimit!;
  const taken = store.take(principal.id, limit.requestsPerMinute, limit.burst);
  return typeof taken === 'number' ? afterTake(store, principal, taken) : taken.then((waitMs) => afterTake(store, principal, waitMs));
}

function afterTake(store: QuotaStore, principal: Principal, waitMs: number): Maybe<Release | undefined> {
  const limit = principal.rateLimit!;
  if (waitMs > 0) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new CorralError('RATE_LIMITED', `API key '${principal.name}' is limited to ${limit.requestsPerMinute} requests per minute (burst ${limit.burst}); retry in ${seconds} s.`, { headers: { 'retry-after': String(seconds) } });
  }
  if (limit.concurrency === undefined) return undefined;
  const acquired = store.acquire(principal.id, limit.concurrency);
  return acquired instanceof Promise ? acquired.then((lease) => leased(store, principal, lease)) : leased(store, principal, acquired);
}

function leased(store: QuotaStore, principal: Principal, lease: string | undefined): Release {
  if (lease === undefined) {
    throw new CorralError('CONCURRENCY_LIMITED', `API key '${principal.name}' already has ${principal.rateLimit!.concurrency} requests in flight; retry when one finishes.`, { headers: { 'retry-after': '1' } });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    void Promise.resolve(store.release(principal.id, lease)).catch(() => undefined);
  };
}
