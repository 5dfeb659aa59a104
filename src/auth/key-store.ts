import { randomUUID, timingSafeEqual } from 'node:crypto';
import { CorralError } from '../errors/index.js';
import type { Db } from '../store/index.js';
import type { ApiKeysTable } from '../store/schema.js';
import { keyFromRow, type ApiKey } from './api-key.js';
import { lookupHint, newKeySecret, scryptHash, scryptMatches, sha256, sha256Hex } from './key-secret.js';
import { Principal, type RateLimit } from './principal.js';
import type { Scope } from './scopes.js';

export interface NewKey {
  name: string;
  scopes: Scope[];
  models?: string[] | null;
  rateLimit?: RateLimit | null;
  expiresAt?: string | null;
  /** Import an existing token instead of generating one. */
  secret?: string;
}

export type KeyPatch = Partial<Pick<NewKey, 'name' | 'scopes' | 'models' | 'rateLimit' | 'expiresAt'>>;

/** How gateways sharing a database tell each other a key changed (Redis pub/sub); absent = one gateway. */
export interface KeyChangeBus {
  publish(keyId: string): Promise<void>;
  subscribe(listener: (keyId: string) => void): Promise<void>;
  close(): Promise<void>;
}

interface Cached {
  key: ApiKey;
  /** Built once per key version: requests reuse it (scopes and compiled model globs). */
  principal: Principal;
  kind: ApiKeysTable['hash_kind'];
  hash: string;
  hint: string;
  /** expires_at in ms since the epoch; Infinity when it never expires. */
  expiresMs: number;
  /** The SHA-256 of a generated key's secret, as bytes for a constant-time comparison. */
  digest?: Buffer;
}

/**
 * API keys in the database, cached in memory so checking a request costs one
 * SHA-256 and a map lookup. A key unknown here is looked up in the database
 * (another gateway may have made it); changes anywhere reach every gateway
 * through the bus.
 */
export class KeyStore {
  private readonly byId = new Map<string, Cached>();
  private readonly bySha = new Map<string, string>();
  /** Bumped on every change to any key: what was verified before a change is verified again. */
  version = 0;

  private constructor(private readonly db: Db, private readonly bus?: KeyChangeBus) {}

  static async open(db: Db, bus?: KeyChangeBus): Promise<KeyStore> {
    const store = new KeyStore(db, bus);
    for (const row of await db.selectFrom('api_keys').selectAll().execute()) store.remember(row);
    await bus?.subscribe((id) => void store.reload(id));
    return store;
  }

  list(): ApiKey[] {
    return [...this.byId.values()].map((c) => c.key).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): ApiKey {
    const cached = this.byId.get(id);
    if (!cached) throw new CorralError('KEY_NOT_FOUND', `No API key '${id}'; GET /api/keys lists them.`);
    return cached.key;
  }

  find(id: string): ApiKey | undefined {
    return this.byId.get(id)?.key;
  }

  /** Creates a key; the secret is returned here and never again. */
  async create(spec: NewKey): Promise<{ key: ApiKey; secret: string }> {
    const secret = spec.secret ?? newKeySecret();
    const sha = sha256Hex(secret);
    if (this.bySha.has(sha) || (await this.db.selectFrom('api_keys').select('id').where('secret_hash', '=', sha).executeTakeFirst())) {
      throw new CorralError('ALREADY_EXISTS', 'An API key with that secret already exists.');
    }
    const now = new Date().toISOString();
    const row: ApiKeysTable = {
      id: randomUUID(),
      name: spec.name,
      // Generated secrets have 256 bits: a fast hash is enough. Imported ones may be weak: scrypt.
      hash_kind: spec.secret === undefined ? 'sha256' : 'scrypt',
      secret_hash: spec.secret === undefined ? sha : await scryptHash(secret),
      lookup_hint: lookupHint(secret),
      scopes_json: JSON.stringify(spec.scopes),
      models_json: spec.models ? JSON.stringify(spec.models) : null,
      rate_limit_json: spec.rateLimit ? JSON.stringify(spec.rateLimit) : null,
      expires_at: spec.expiresAt ?? null,
      revoked_at: null,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    const key = this.remember(row);
    await this.bus?.publish(key.id);
    return { key, secret };
  }

  async update(id: string, patch: KeyPatch): Promise<ApiKey> {
    this.get(id);
    const set: Partial<ApiKeysTable> = { updated_at: new Date().toISOString() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.scopes !== undefined) set.scopes_json = JSON.stringify(patch.scopes);
    if (patch.models !== undefined) set.models_json = patch.models === null ? null : JSON.stringify(patch.models);
    if (patch.rateLimit !== undefined) set.rate_limit_json = patch.rateLimit === null ? null : JSON.stringify(patch.rateLimit);
    if (patch.expiresAt !== undefined) set.expires_at = patch.expiresAt;
    return this.write(id, set);
  }

  /** Revokes a key for good; it stays listed (with revoked_at) so its use is reported as revoked. */
  async revoke(id: string): Promise<ApiKey> {
    const key = this.get(id);
    if (key.revokedAt) return key;
    const now = new Date().toISOString();
    return this.write(id, { revoked_at: now, updated_at: now });
  }

  /**
   * The principal of a secret this gateway already knows, without touching the
   * database (the path nearly every request takes); undefined when it must be
   * looked up. Throws 401 for a revoked or expired key.
   */
  knownPrincipal(secret: string): Principal | undefined {
    const digest = sha256(secret);
    const id = this.bySha.get(digest.toString('hex'));
    if (id === undefined) return undefined;
    const cached = this.byId.get(id)!;
    // Imported keys are remembered by SHA-256 once scrypt has verified them; generated ones compare in constant time.
    if (cached.digest && !timingSafeEqual(digest, cached.digest)) return undefined;
    return usable(cached);
  }

  /** The principal a presented secret stands for, or 401 saying why it is not accepted. */
  async authenticate(secret: string): Promise<Principal> {
    const known = this.knownPrincipal(secret);
    if (known) return known;
    const cached = await this.lookup(secret);
    if (!cached) throw new CorralError('INVALID_API_KEY', 'The API key is not valid.');
    return usable(cached);
  }

  /** A key's principal by id, as it is now (for jobs that run later); 401 if it is gone, revoked or expired. */
  principalById(id: string): Principal {
    const cached = this.byId.get(id);
    if (!cached) throw new CorralError('INVALID_API_KEY', 'The API key that submitted this job no longer exists.');
    return usable(cached);
  }

  /** Re-reads one key after another gateway changed it. */
  async reload(id: string): Promise<void> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (row) this.remember(row);
  }

  async close(): Promise<void> {
    await this.bus?.close();
  }

  private async write(id: string, set: Partial<ApiKeysTable>): Promise<ApiKey> {
    const row = await this.db.updateTable('api_keys').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    const key = this.remember(row);
    await this.bus?.publish(id);
    return key;
  }

  private remember(row: ApiKeysTable): ApiKey {
    const key = keyFromRow(row);
    this.version++;
    this.byId.set(row.id, {
      key, kind: row.hash_kind, hash: row.secret_hash, hint: row.lookup_hint,
      principal: new Principal(key.id, key.name, key.scopes, key.models, key.rateLimit, key.expiresAt ? Date.parse(key.expiresAt) : Infinity),
      expiresMs: key.expiresAt ? Date.parse(key.expiresAt) : Infinity,
      ...(row.hash_kind === 'sha256' ? { digest: Buffer.from(row.secret_hash, 'hex') } : {}),
    });
    if (row.hash_kind === 'sha256') this.bySha.set(row.secret_hash, row.id);
    return key;
  }

  /** A secret not in memory: another gateway may have created it since this one started. */
  private async lookup(secret: string): Promise<Cached | undefined> {
    const sha = sha256Hex(secret);
    const rows = await this.db.selectFrom('api_keys').selectAll()
      .where((eb) => eb.or([eb('secret_hash', '=', sha), eb.and([eb('hash_kind', '=', 'scrypt'), eb('lookup_hint', '=', sha.slice(0, 4))])]))
      .execute();
    for (const row of rows) {
      if (row.hash_kind === 'sha256') {
        this.remember(row);
        return this.byId.get(row.id);
      }
      if (await scryptMatches(secret, row.secret_hash)) {
        this.remember(row);
        this.bySha.set(sha, row.id);
        return this.byId.get(row.id);
      }
    }
    return undefined;
  }
}

function usable({ key, principal, expiresMs }: Cached): Principal {
  if (key.revokedAt) throw new CorralError('API_KEY_REVOKED', `API key '${key.name}' was revoked at ${key.revokedAt}.`);
  if (expiresMs !== Infinity && expiresMs <= Date.now()) throw new CorralError('API_KEY_EXPIRED', `API key '${key.name}' expired at ${key.expiresAt}; ask an admin for a new one.`);
  return principal;
}
