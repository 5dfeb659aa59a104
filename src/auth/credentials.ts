import type { FastifyRequest } from 'fastify';
import { CorralError } from '../errors/index.js';

/**
 * The secret a request presents, from (in order) `Authorization: Bearer`,
 * HTTP Basic (the password; any user name, so Laminoid's `sloth:<token>`
 * works), `X-API-Key`, or `?token=` on GET and HEAD only (EventSource and
 * links cannot send headers). undefined = no credential at all.
 */
export function presentedSecret(req: FastifyRequest): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    if (authorization.startsWith('Bearer ')) return nonEmpty(authorization.slice(7).trim(), 'The Bearer credential is empty.');
    const [scheme, value = ''] = authorization.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme!)) return nonEmpty(value, 'The Bearer credential is empty.');
    if (/^basic$/i.test(scheme!)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new CorralError('INVALID_API_KEY', 'The Basic credential must be base64 of "<user>:<api key>".');
      return nonEmpty(decoded.slice(colon + 1), 'The Basic credential has an empty password; put the API key there.');
    }
    throw new CorralError('INVALID_API_KEY', `Authorization scheme '${scheme}' is not supported; use Bearer <key> or Basic.`);
  }
  const header = req.headers['x-api-key'];
  if (header !== undefined) return nonEmpty(Array.isArray(header) ? header[0] ?? '' : header, 'X-API-Key is empty.');
  if (req.method === 'GET' || req.method === 'HEAD') {
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string') return nonEmpty(token, '?token= is empty.');
  }
  return undefined;
}

/** The web UI's session cookie (POST /api/session sets it; HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'corral_session';

/**
 * The session id a browser presents in its `corral_session` cookie, if any.
 * A credential in a header (presentedSecret) wins over it.
 */
export function presentedSession(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value.length > 0 ? value : undefined;
    }
  }
  return undefined;
}

function nonEmpty(secret: string, message: string): string {
  if (secret.length === 0) throw new CorralError('INVALID_API_KEY', message);
  return secret;
}

/** Removes ?token= from a URL before it is logged anywhere. */
export const redactToken = (url: string) => url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
