import type { AuthConfig } from '../config/config.js';
import type { KeyStore } from './key-store.js';
import { sameDigest, sha256Hex } from './key-secret.js';
import { Principal } from './principal.js';
import { parseScopes, SCOPES } from './scopes.js';

/**
 * Turns a presented secret into the principal it stands for: an API key, the
 * admin token from the environment, or (no secret) the anonymous caller with
 * CORRAL_ANONYMOUS_SCOPES. A wrong secret is always a 401, never anonymous.
 */
export class Authenticator {
  readonly anonymous: Principal;
  private readonly admin = new Principal('admin-token', 'admin-token', SCOPES);
  private readonly adminTokenSha?: string;

  constructor(private readonly keys: KeyStore, config: AuthConfig) {
    this.anonymous = config.mode === 'off'
      ? Principal.unrestricted()
      : new Principal('anonymous', 'anonymous', parseScopes(config.anonymousScopes, 'CORRAL_ANONYMOUS_SCOPES'));
    this.adminTokenSha = config.adminToken === undefined ? undefined : sha256Hex(config.adminToken);
  }

  /** The principal of a secret, without waiting when the key is in memory (nearly always). */
  principalFor(secret: string | undefined): Principal | Promise<Principal> {
    if (secret === undefined) return this.anonymous;
    if (this.adminTokenSha && sameDigest(sha256Hex(secret), this.adminTokenSha)) return this.admin;
    return this.keys.knownPrincipal(secret) ?? this.keys.authenticate(secret);
  }

  /** The principal a job acts as when it runs later: its key as it is now (revoked = 401). */
  principalById(id: string): Principal {
    if (id === 'anonymous') return this.anonymous;
    if (id === 'admin-token') return this.admin;
    return this.keys.principalById(id);
  }
}
