import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { CorralError } from '../../errors/index.js';
import { checkTaskRoute } from '../../services/index.js';
import type { Corral } from '../corral.js';

const Params = Type.Object({ id: Type.String(), '*': Type.String() });

/**
 * POST /services/<id-or-name>/<route>: one of the service's task routes (embed,
 * generate, v1/...) sent to that service wherever it runs. Locally it is
 * answered by this gateway's own route, acting as the original caller (its
 * scopes and models are checked there again); for a job, forwarded to its host
 * with the credential only this gateway holds. JSON bodies only.
 */
export const serviceProxyRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; root: () => FastifyInstance }> = async (app, { corral, root }) => {
  app.post('/services/:id/*', { schema: { params: Params }, config: { auth: 'infer' } }, async (req, reply) => {
    const service = corral.services.get(req.params.id);
    req.principal.assertCanUse(service.name);
    const route = checkTaskRoute(service, req.params['*']);
    corral.runner.assertReady(service);
    const body = req.body === undefined ? undefined : { ...(req.body as Record<string, unknown>), model: service.name, service: undefined };
    const url = `/${route}${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}`;
    if (service.profile === 'local' || !service.endpoint) {
      const res = await root().inject({
        method: 'POST', url, payload: body as object | undefined,
        headers: { 'content-type': 'application/json', ...corral.internalCalls.headersFor(req.principal) },
      });
      reply.code(res.statusCode).headers({ 'content-type': res.headers['content-type'] ?? 'application/json' });
      if (res.headers['retry-after'] !== undefined) reply.header('retry-after', res.headers['retry-after']);
      return res.rawPayload;
    }
    let res: Response;
    try {
      // Counted as a request of the service: the idle reaper does not put it to sleep under it.
      res = await corral.runner.tracked(service, () => fetch(`${service.endpoint}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(service.hostCredential ? { authorization: `Bearer ${service.hostCredential}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
      }));
    } catch (err) {
      throw new CorralError('INFERENCE_FAILED', `Service '${service.name}' at ${service.endpoint} is unreachable: ${(err as Error).message}`);
    }
    reply.code(res.status).header('content-type', res.headers.get('content-type') ?? 'application/json');
    return Buffer.from(await res.arrayBuffer());
  });
};
