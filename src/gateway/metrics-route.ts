import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { CorralError } from '../errors/index.js';
import { MetricsSampler, SERIES_WINDOWS, type SeriesWindow } from '../metrics/index.js';
import type { Corral } from './corral.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Samples the registry for GET /api/metrics/series; stopped when the gateway closes. */
    metricsSampler: MetricsSampler;
  }
}

/** Starts sampling the instance's metrics every CORRAL_METRICS_SAMPLE_MS, until `app` closes. */
export function startMetricsSampler(app: FastifyInstance, corral: Corral): MetricsSampler {
  const sampler = new MetricsSampler(corral.metrics.registry, corral.config.metricsSampleMs);
  sampler.start();
  app.addHook('onClose', async () => sampler.stop());
  return sampler;
}

const isWindow = (w: string): w is SeriesWindow => Object.hasOwn(SERIES_WINDOWS, w);

/**
 * GET /metrics: Prometheus text exposition of the instance's registry.
 * GET /api/metrics/series?window=15m|1h: the same metrics sampled over time, per model, for charts.
 */
export const metricsRoute: FastifyPluginAsyncTypebox<{ corral: Corral; sampler: MetricsSampler }> = async (app, { corral, sampler }) => {
  app.get('/metrics', { config: { auth: 'metrics' } }, async (_req, reply) => {
    reply.header('content-type', corral.metrics.registry.contentType);
    return corral.metrics.registry.metrics();
  });

  app.get('/api/metrics/series', {
    schema: { querystring: Type.Object({ window: Type.Optional(Type.String()) }) }, config: { auth: 'metrics' },
  }, async (req) => {
    const window = req.query.window ?? '15m';
    if (!isWindow(window)) {
      throw new CorralError('BAD_REQUEST', `window must be one of ${Object.keys(SERIES_WINDOWS).join(', ')}; got '${window}'.`);
    }
    // A key limited to some models sees only their series.
    return sampler.series(window, (model) => req.principal.canUse(model));
  });
};
