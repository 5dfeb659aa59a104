import type { FastifyInstance } from 'fastify';
import type { CorralMetrics } from '../metrics/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** API family label for request metrics; routes without it are not counted. */
    api?: string;
  }
}

/** Counts and times every request of routes that declare `config.api`, labelled by model. */
export function installRouteMetrics(app: FastifyInstance, metrics: CorralMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const api = request.routeOptions.config?.api;
    if (!api) return;
    const model = (request.params as { name?: string } | undefined)?.name ?? '';
    const labels = { model, api, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
  });
}
