import { randomBytes } from 'node:crypto';
import type { Principal } from './principal.js';

/** How long a web UI session lasts at most (the key's own expiry comes first). */
export const SESSION_LIFETIME_MS = 12 * 60 * 60_000;
/** Most sessions kept at once; past it the oldest is dropped (its browser logs in again). */
const MAX_SESSIONS = 10_000;

interface Session {
  keyId: string;
  expiresMs: number;
}

/**
 * Web UI sessions: a random id (the cookie's value) mapped, in this gateway's
 * memory only, to the id of the API key that logged in. The key itself never
 * reaches the browser's cookie jar; every request resolves the key by id
 * again, so revoking or expiring the key ends its sessions at once; logout
 * forgets the id; a restart logs everyone out.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly lifetimeMs = SESSION_LIFETIME_MS, private readonly now: () => number = Date.now) {}

  /** A new session for `principal`: its id, and how many seconds the cookie should live. */
  open(principal: Principal): { id: string; maxAgeSeconds: number } {
    const id = randomBytes(32).toString('base64url');
    const expiresMs = Math.min(this.now() + this.lifetimeMs, principal.expiresMs);
    this.byId.set(id, { keyId: principal.id, expiresMs });
    if (this.byId.size > MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    return { id, maxAgeSeconds: Math.max(1, Math.floor((expiresMs - this.now()) / 1000)) };
  }

  /** The key id of a live session; undefined when unknown, logged out or expired. */
  keyIdOf(id: string): string | undefined {
    const session = this.byId.get(id);
    if (!session) return undefined;
    if (session.expiresMs <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return session.keyId;
  }

  close(id: string): void {
    this.byId.delete(id);
  }
}
