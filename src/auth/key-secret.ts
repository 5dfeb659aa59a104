import { hash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

/** Keys Corral issues: a recognisable prefix and 256 random bits. */
export const newKeySecret = () => `corral_${randomBytes(32).toString('base64url')}`;

// One-shot hashing: it runs on every authenticated request, and is several times cheaper than createHash().
export const sha256Hex = (secret: string) => hash('sha256', secret, 'hex');
export const sha256 = (secret: string) => hash('sha256', secret, 'buffer');

/** Which scrypt-hashed keys are worth trying for a presented secret (16 bits: a filter, not a secret). */
export const lookupHint = (secret: string) => sha256Hex(secret).slice(0, 4);

/** Constant-time comparison of two hex digests of equal length. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * Imported secrets (e.g. Laminoid's 32-hex box tokens) may be short or guessable,
 * so they get a slow salted hash: `scrypt$<salt>$<hash>`.
 */
export async function scryptHash(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, 32, SCRYPT);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

export async function scryptMatches(secret: string, stored: string): Promise<boolean> {
  const [, salt, hash] = stored.split('$');
  if (!salt || !hash) return false;
  const candidate = await scryptAsync(secret, Buffer.from(salt, 'hex'), 32, SCRYPT);
  return sameDigest(candidate.toString('hex'), hash);
}
