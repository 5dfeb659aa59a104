import { createHmac, randomBytes } from 'node:crypto';
import { sha256Hex } from '../auth/key-secret.js';

/**
 * The secret a cluster job is launched with: it proves to the gateway that a
 * register or invoke call comes from that job. The gateway keeps only its
 * SHA-256 (`tokenHashOf`); the job gets the plaintext through its environment
 * (a 0600 batch script), never its command line.
 */
export const newServiceToken = () => randomBytes(32).toString('base64url');

/** What the gateway stores to recognise the token (SHA-256, hex). */
export const tokenHashOf = (token: string) => sha256Hex(token);

/**
 * The credential the gateway presents to the job's host (`corral host`
 * requires it on every route but health). Derived from the token, so the job
 * needs no second secret, and the gateway can keep it without keeping the token.
 */
export const hostCredentialOf = (token: string) => createHmac('sha256', token).update('corral host credential').digest('hex');

/** The environment variable that carries the token into the job. */
export const SERVICE_TOKEN_ENV = 'CORRAL_SERVICE_TOKEN';
