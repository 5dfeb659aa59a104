import type { FastifyInstance, FastifyRequest } from 'fastify';
import { presentedSession } from '../../auth/index.js';
import { CorralError } from '../../errors/index.js';
import { hostOf } from './host-guard.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A GET that changes state (Laminoid's /api/instance/.../start and stop): guarded like a POST. */
    changesState?: boolean;
  }
}

/**
 * CSRF guard: a state-changing request that a browser sends on behalf of a
 * page from another origin (a text/plain form POST needs no preflight, and
 * carries cached Basic credentials) gets 403, unless that origin is in
 * CORRAL_CORS_ORIGINS. Clients that are not browsers send no Origin; a write
 * that carries the web UI's session cookie must show it is same-origin.
 */
export function installOriginGuard(app: FastifyInstance, corsOrigins: readonly string[]): void {
  const allowed = new Set(corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      checkOrigin(req);
      done();
    } catch (err) {
      done(err as Error);
    }
  });

  function checkOrigin(req: FastifyRequest): void {
    if (SAFE_METHODS.has(req.method) && req.routeOptions.config?.changesState !== true) return;
    const origin = req.headers.origin;
    if (origin === undefined) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site') throw refused('a cross-site page');
      // The web UI's session cookie is sent by the browser on its own: a write it
      // authenticates must prove it comes from this gateway's pages (browsers send Origin
      // on every POST, PUT, PATCH and DELETE; a header credential needs no such proof).
      if (site !== 'same-origin' && presentedSession(req) !== undefined && !req.headers.authorization && req.headers['x-api-key'] === undefined) {
        throw refused('a request carrying the session cookie but neither Origin nor Sec-Fetch-Site: same-origin');
      }
      return;
    }
    const normalized = origin.replace(/\/$/, '').toLowerCase();
    if (allowed.has(normalized)) return;
    let sameOrigin = false;
    try {
      sameOrigin = normalized !== 'null' && req.headers.host !== undefined && hostOf(new URL(normalized).host) === hostOf(req.headers.host)
        && new URL(normalized).port === portOf(req.headers.host);
    } catch { /* a malformed Origin is not same-origin */ }
    if (!sameOrigin) throw refused(`origin ${origin}`);
  }
}

const portOf = (host: string) => {
  const m = /:(\d+)$/.exec(host.trim());
  return m ? (m[1] === '80' ? '' : m[1]!) : '';
};

const refused = (who: string) =>
  new CorralError('FORBIDDEN', `Cross-origin request from ${who} refused: state-changing requests must come from this gateway's own pages or an origin in CORRAL_CORS_ORIGINS.`);
