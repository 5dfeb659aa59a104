import type { AuthConfig } from '../config/config.js';
import type { KeyStore } from './key-store.js';
import { sameDigest, sha256Hex } from './key-secret.js';
import { Principal } from './principal.js';
import { parseScopes, SCOPES } from './scopes.js';
import { Sessions } from './sessions.js';
import { CorralError } from '../errors/index.js';

/**
 * Turns a presented secret into the principal it stands for: an API key, the
 * admin token from the environment, or (no secret) the anonymous caller with
 * CORRAL_ANONYMOUS_SCOPES. A wrong secret is always a 401, never anonymous.
 */
export class Authenticator {
  readonly anonymous: Principal;
  private readonly admin = new Principal('admin-token', 'admin-token', SCOPES);
  private readonly proved = new WeakMap<object, { secret: string; version: number; principal: Principal }>();
  private readonly adminTokenSha?: string;
  /** Web UI logins (POST /api/session): cookie id → key id. */
  readonly sessions = new Sessions();

  constructor(private readonly keys: KeyStore, config: AuthConfig) {
    this.anonymous = config.mode === 'off'
      ? Principal.unrestricted()
      : new Principal('anonymous', 'anonymous', parseScopes(config.anonymousScopes, 'CORRAL_ANONYMOUS_SCOPES'));
    this.adminTokenSha = config.adminToken === undefined ? undefined : sha256Hex(config.adminToken);
  }

  /**
   * The principal of a secret, without waiting when the key is in memory
   * (nearly always). `connection` (the socket) remembers the secret it last
   * proved: the next request on that keep-alive connection presenting the same
   * secret skips the hash, until any key changes or that key expires.
   */
  principalFor(secret: string | undefined, connection?: object): Principal | Promise<Principal> {
    if (secret === undefined) return this.anonymous;
    const proved = connection && this.proved.get(connection);
    if (proved && proved.secret === secret && proved.version === this.keys.version && proved.principal.expiresMs > Date.now()) return proved.principal;
    const known = this.adminTokenSha && sameDigest(sha256Hex(secret), this.adminTokenSha) ? this.admin : this.keys.knownPrincipal(secret);
    if (!known) return this.keys.authenticate(secret);
    if (connection) this.proved.set(connection, { secret, version: this.keys.version, principal: known });
    return known;
  }

  /**
   * The principal of a web UI session cookie: the key that logged in, as it is
   * now (revoked or expired = 401), or 401 when the session is unknown.
   */
  principalForSession(sessionId: string): Principal {
    const keyId = this.sessions.keyIdOf(sessionId);
    if (keyId === undefined) throw new CorralError('UNAUTHENTICATED', 'Your session has ended (logged out, expired, or the gateway restarted): log in again.');
    return this.principalById(keyId);
  }

  /** The principal a job acts as when it runs later: its key as it is now (revoked = 401). */
  principalById(id: string): Principal {
    if (id === 'anonymous') return this.anonymous;
    if (id === 'admin-token') return this.admin;
    return this.keys.principalById(id);
  }
}
