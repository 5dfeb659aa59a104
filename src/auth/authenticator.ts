import type { AuthConfig } from '../config/config.js';
import { CorralError } from '../errors/index.js';
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
  private readonly adminTokenSha?: string;

  constructor(private readonly keys: KeyStore, config: AuthConfig) {
    this.anonymous = config.mode === 'off'
      ? Principal.unrestricted()
      : new Principal('anonymous', 'anonymous', parseScopes(config.anonymousScopes, 'CORRAL_ANONYMOUS_SCOPES'));
    this.adminTokenSha = config.adminToken === undefined ? undefined : sha256Hex(config.adminToken);
  }

  async principalFor(secret: string | undefined): Promise<Principal> {
    if (secret === undefined) return this.anonymous;
    if (this.adminTokenSha && sameDigest(sha256Hex(secret), this.adminTokenSha)) return new Principal('admin-token', 'admin-token', SCOPES);
    return principalOf(await this.keys.authenticate(secret));
  }

  /** The principal a job acts as when it runs later: its key as it is now (revoked = 401). */
  principalById(id: string): Principal {
    if (id === 'anonymous') return this.anonymous;
    if (id === 'admin-token') return new Principal('admin-token', 'admin-token', SCOPES);
    const key = this.keys.find(id);
    if (!key) throw new CorralError('INVALID_API_KEY', 'The API key that submitted this job no longer exists.');
    if (key.revokedAt) throw new CorralError('API_KEY_REVOKED', `API key '${key.name}' was revoked at ${key.revokedAt}.`);
    if (key.expiresAt && key.expiresAt <= new Date().toISOString()) throw new CorralError('API_KEY_EXPIRED', `API key '${key.name}' expired at ${key.expiresAt}.`);
    return principalOf(key);
  }
}

const principalOf = (key: import('./api-key.js').ApiKey) => new Principal(key.id, key.name, key.scopes, key.models, key.rateLimit);
