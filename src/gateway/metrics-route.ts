import type { FastifyPluginAsync } from 'fastify';
import type { Corral } from './corral.js';

/** GET /metrics: Prometheus text exposition of the instance's registry. */
export const metricsRoute: FastifyPluginAsync<{ corral: Corral }> = async (app, { corral }) => {
  app.get('/metrics', { config: { auth: 'metrics' } }, async (_req, reply) => {
    reply.header('content-type', corral.metrics.registry.contentType);
    return corral.metrics.registry.metrics();
  });
};
