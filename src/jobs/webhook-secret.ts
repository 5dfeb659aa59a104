import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the generated webhook signing secret is kept. */
export const webhookSecretPath = (home: string) => join(home, 'webhook.secret');

/**
 * The HMAC key that signs webhook bodies, from CORRAL_HOME/webhook.secret:
 * made on first use (32 random bytes, hex, mode 0600), read back afterwards.
 * The file is written whole under a temporary name and linked into place, so
 * two gateways sharing a home agree on one secret and never read half of one.
 * The key is the file's text (trimmed), used as UTF-8 bytes.
 */
export function loadWebhookSecret(home: string): string {
  const path = webhookSecretPath(home);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${path} holds no usable webhook secret (fewer than 32 characters); remove it to have a new one made.`);
  return secret;
}
