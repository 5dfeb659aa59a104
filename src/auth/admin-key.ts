import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthConfig } from '../config/config.js';
import type { KeyStore } from './key-store.js';

export const adminKeyPath = (home: string) => join(home, 'admin.key');

/**
 * Secure by default: the first start with auth on and no keys at all makes
 * an admin key and writes it to CORRAL_HOME/admin.key, readable by its owner
 * only. Returns the secret when one was made, so `corral start` can print it
 * once. CORRAL_ADMIN_TOKEN replaces this file.
 */
export async function ensureAdminKey(keys: KeyStore, auth: AuthConfig, home: string): Promise<string | undefined> {
  if (auth.mode === 'off' || auth.adminToken !== undefined || auth.hostCredential !== undefined) return undefined;
  if (keys.list().length > 0) return undefined;
  const { secret } = await keys.create({ name: 'admin', scopes: ['admin'] });
  const path = adminKeyPath(home);
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an older file keeps its mode otherwise
  return secret;
}
