import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { CorralError } from '../../errors/index.js';
import type { Corral } from '../corral.js';

const Params = Type.Object({ id: Type.String(), '*': Type.String() });

/**
 * /services/<id-or-name>/<route>: a task route (embed, generate, v1/...) sent
 * to one service wherever it runs. Locally it is answered by this gateway's
 * own route with the service chosen; for a job, forwarded to its host.
 * JSON bodies only.
 */
export const serviceProxyRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; root: () => FastifyInstance }> = async (app, { corral, root }) => {
  app.all('/services/:id/*', { schema: { params: Params } }, async (req, reply) => {
    const service = corral.services.get(req.params.id);
    corral.runner.assertReady(service);
    const path = `/${req.params['*']}`;
    const body = req.body === undefined ? undefined : { ...(req.body as Record<string, unknown>), model: service.name, service: undefined };
    const url = `${path}${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}`;
    if (service.profile === 'local' || !service.endpoint) {
      const res = await root().inject({ method: req.method as 'POST', url, payload: body as object | undefined, headers: { 'content-type': 'application/json' } });
      reply.code(res.statusCode).headers({ 'content-type': res.headers['content-type'] ?? 'application/json' });
      return res.rawPayload;
    }
    let res: Response;
    try {
      res = await fetch(`${service.endpoint}${url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new CorralError('INFERENCE_FAILED', `Service '${service.name}' at ${service.endpoint} is unreachable: ${(err as Error).message}`);
    }
    reply.code(res.status).header('content-type', res.headers.get('content-type') ?? 'application/json');
    return Buffer.from(await res.arrayBuffer());
  });
};
