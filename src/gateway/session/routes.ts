import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { presentedSession, SESSION_COOKIE, type Principal } from '../../auth/index.js';
import { CorralError, toCorralError } from '../../errors/index.js';
import type { Corral } from '../corral.js';

const LoginBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });

/** What the UI needs to know of who it is: the name, the scopes (which buttons show) and the model globs. */
const whoView = (p: Principal) => ({ name: p.name, scopes: [...p.scopes], models: p.models });

/**
 * The web UI's login. EventSource cannot send an Authorization header, so the
 * UI exchanges an API key for a session cookie (HttpOnly: page scripts never
 * see it; SameSite=Strict: other sites' requests never carry it) that the
 * authenticator accepts like a key (see auth/sessions.ts). All three routes
 * are public: POST checks the key itself, exactly as a bearer is checked
 * (failed attempts are audited and count against the address), and the
 * Origin guard refuses cross-origin logins and logouts.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { config, auth, failedAuth, audit } = corral;
  const authOn = config.auth.mode === 'on';

  const cookie = (req: FastifyRequest, value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${req.protocol === 'https' ? '; Secure' : ''}`;
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  // Who this browser is: the session's key, or null (log in). With auth off, everyone is everything.
  app.get('/api/session', { config: { auth: 'public' } }, async (req, reply) => {
    noStore(reply);
    if (!authOn) return { auth: 'off', principal: whoView(auth.anonymous) };
    const session = presentedSession(req);
    let principal: Principal | null = null;
    if (session !== undefined) {
      try {
        principal = auth.principalForSession(session);
      } catch { /* ended or its key revoked: log in again */ }
    }
    return { auth: 'on', principal: principal && whoView(principal) };
  });

  app.post('/api/session', { schema: { body: LoginBody }, config: { auth: 'public' } }, async (req, reply) => {
    noStore(reply);
    if (!authOn) return { auth: 'off', principal: whoView(auth.anonymous) };
    failedAuth.assertAllowed(req.ip);
    let principal: Principal;
    try {
      principal = await auth.principalFor(req.body.key);
    } catch (err) {
      const error = toCorralError(err);
      if (error.status === 401) {
        audit.authFailure(req.ip, error.code);
        await failedAuth.failed(req.ip);
      }
      throw error;
    }
    if (principal.isAnonymous) throw new CorralError('INVALID_API_KEY', 'That is not an API key.');
    const { id, maxAgeSeconds } = auth.sessions.open(principal);
    audit.record('session.login', { principal, ip: req.ip });
    reply.header('set-cookie', cookie(req, id, maxAgeSeconds));
    return { auth: 'on', principal: whoView(principal) };
  });

  app.delete('/api/session', { config: { auth: 'public' } }, async (req, reply) => {
    const session = presentedSession(req);
    if (session !== undefined) auth.sessions.close(session);
    noStore(reply).header('set-cookie', cookie(req, '', 0)).code(204);
  });
};
