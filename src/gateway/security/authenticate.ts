import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, onResponseHookHandler } from 'fastify';
import { isJobToken, type RouteAuth } from './route-auth.js';
import { admit, presentedSecret, presentedSession, Principal, type Scope } from '../../auth/index.js';
import { sameDigest, sha256Hex } from '../../auth/key-secret.js';
import { CorralError, toCorralError } from '../../errors/index.js';
import type { Corral } from '../corral.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts as; set by the auth hook before any handler runs. */
    principal: Principal;
    /** The web UI session it was admitted with, when that (not a key) was its credential. */
    sessionId: string | undefined;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="corral", Basic realm="corral", charset="UTF-8"' };

/**
 * The auth decision of every request, before its body is read: public routes
 * pass; the gateway's own injected calls act as their original caller; cluster
 * hosts present their service token; everyone else presents an API key (or is
 * anonymous) whose scope, and then quota, are checked.
 */
export function installAuthentication(app: FastifyInstance, corral: Corral): void {
  const { config, auth, internalCalls, failedAuth, quotas, audit, metrics } = corral;
  const anonymous = auth.anonymous;
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('sessionId', undefined);

  /** The decision for one request: synchronous when the key is in memory (nearly always), a promise otherwise. */
  const decide = (req: FastifyRequest, reply: FastifyReply, decision: RouteAuth): void | Promise<void> => {
    req.principal = anonymous;
    // A service host in a cluster job answers only health checks to anyone.
    if (config.auth.hostCredential !== undefined) {
      if (decision !== 'public' || !req.url.startsWith('/v2/health/')) checkHostCredential(req, config.auth.hostCredential);
      return;
    }
    if (decision === 'public') return;
    const internal = internalCalls.take(req);
    if (internal) {
      req.principal = internal;
      if (!isJobToken(decision)) assertScope(internal, decision);
      return;
    }
    if (decision === 'service-token') return checkServiceToken(req, corral);
    if (decision === 'training-token') return checkTrainingToken(req, corral);
    if (config.auth.mode === 'off') return;

    let found: Principal | Promise<Principal>;
    try {
      if (failedAuth.anyBlocked) failedAuth.assertAllowed(req.ip);
      // A key in a header wins; a browser of the web UI presents its session cookie instead.
      const secret = presentedSecret(req);
      const session = secret === undefined ? presentedSession(req) : undefined;
      req.sessionId = session;
      found = session !== undefined ? auth.principalForSession(session) : auth.principalFor(secret, req.raw.socket);
    } catch (err) {
      return refuse(req, err);
    }
    if (found instanceof Principal) return admitted(req, reply, found, decision);
    return found.then((principal) => admitted(req, reply, principal, decision), (err: unknown) => refuse(req, err));
  };

  /** A known principal: its scope, then its quota (a concurrency slot is freed when the response closes). */
  const admitted = (req: FastifyRequest, reply: FastifyReply, principal: Principal, scope: Scope): void | Promise<void> => {
    req.principal = principal;
    assertScope(principal, scope);
    if (!principal.rateLimit) return;
    const release = admit(quotas, principal);
    if (release instanceof Promise) return release.then((r) => holdUntilClosed(reply, r));
    holdUntilClosed(reply, release);
  };

  /** A wrong, expired or revoked credential: audited, counted against the address, answered with a challenge. */
  const refuse = async (req: FastifyRequest, err: unknown): Promise<never> => {
    const error = toCorralError(err);
    if (error.status !== 401) throw error;
    audit.authFailure(req.ip, error.code);
    await failedAuth.failed(req.ip); // the failure past the per-address limit is a 429 instead
    throw new CorralError(error.code, error.message, { headers: CHALLENGE });
  };

  const countPerKey = config.auth.mode === 'on' && config.auth.hostCredential === undefined;
  const onResponse: onResponseHookHandler = (req, reply, done) => {
    metrics.countKeyRequest(req.principal.isAnonymous ? '' : req.principal.name, reply.statusCode);
    done();
  };

  // Each route gets its own hook with its decision bound: nothing is looked up per request.
  app.addHook('onRoute', (route) => {
    const decision = route.config?.auth;
    if (decision === undefined) return;
    const onRequest: onRequestHookHandler = (req, reply, done) => {
      let pending: void | Promise<void>;
      try {
        pending = decide(req, reply, decision);
      } catch (err) {
        done(err as Error);
        return;
      }
      if (pending) pending.then(() => done(), done);
      else done();
    };
    route.onRequest = [...asList(route.onRequest), onRequest];
    // Requests per key name and status; requests without a (valid) key count under key="".
    if (countPerKey && decision !== 'public' && !isJobToken(decision)) route.onResponse = [...asList(route.onResponse), onResponse];
  });
}

const asList = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

function holdUntilClosed(reply: FastifyReply, release: (() => void) | undefined): void {
  if (release) reply.raw.once('close', release);
}

function assertScope(principal: Principal, scope: Scope): void {
  if (principal.has(scope)) return;
  if (principal.isAnonymous) {
    throw new CorralError('UNAUTHENTICATED', `This route needs an API key with the '${scope}' scope: send Authorization: Bearer <key> (or X-API-Key, or HTTP Basic with the key as password).`, { headers: CHALLENGE });
  }
  throw new CorralError('FORBIDDEN', `API key '${principal.name}' lacks the '${scope}' scope this route needs.`);
}

/** `corral host` in a cluster job: only the gateway that launched it may call it. */
function checkHostCredential(req: FastifyRequest, credential: string): void {
  const secret = presentedSecret(req);
  if (secret === undefined) throw new CorralError('UNAUTHENTICATED', 'This service host answers only the gateway that launched it.', { headers: CHALLENGE });
  if (!sameDigest(sha256Hex(secret), sha256Hex(credential))) throw new CorralError('INVALID_API_KEY', 'Wrong service host credential.', { headers: CHALLENGE });
}

/** register: the job that was launched for this service, proven by the token only it was given. */
function checkServiceToken(req: FastifyRequest, corral: Corral): void {
  const id = (req.params as { id?: string }).id ?? '';
  const service = corral.services.find(id);
  const secret = presentedSecret(req);
  if (secret === undefined) throw new CorralError('UNAUTHENTICATED', 'This route is for the service host a cluster job runs; it needs that job\'s service token.', { headers: CHALLENGE });
  if (!service?.tokenHash || !sameDigest(sha256Hex(secret), service.tokenHash)) {
    throw new CorralError('INVALID_API_KEY', 'Wrong service token for this service.', { headers: CHALLENGE });
  }
}

/** A training job's output: the Slurm job that was submitted for it, proven by the upload token only its batch script holds. */
async function checkTrainingToken(req: FastifyRequest, corral: Corral): Promise<void> {
  const id = (req.params as { id?: string }).id ?? '';
  const secret = presentedSecret(req);
  if (secret === undefined) throw new CorralError('UNAUTHENTICATED', "This route is for the Slurm job of a training job; it needs that job's upload token.", { headers: CHALLENGE });
  const hash = await corral.training.uploadTokenHash(id);
  if (!hash || !sameDigest(sha256Hex(secret), hash)) {
    throw new CorralError('INVALID_API_KEY', 'Wrong upload token for this training job.', { headers: CHALLENGE });
  }
}
