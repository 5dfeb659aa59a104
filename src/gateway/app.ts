import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CorralError } from '../errors/index.js';
import type { Corral } from './corral.js';
import { errorHandler } from './error-envelope.js';
import { eventRoutes } from './events/routes.js';
import { createJobQueue } from './jobs/job-queue.js';
import { jobRoutes } from './jobs/routes.js';
import { kserveRoutes } from './kserve/routes.js';
import { laminoidRoutes } from './laminoid/routes.js';
import { laminoidControllerRoutes } from './laminoid/controller-routes.js';
import { boxRoutes } from './boxes/routes.js';
import { neuralEnergyRoutes } from './neural-energy/routes.js';
import { openaiRoutes } from './openai/routes.js';
import { tgiRoutes } from './tgi/routes.js';
import { ollamaRoutes } from './ollama/routes.js';
import { metricsRoute, startMetricsSampler } from './metrics-route.js';
import { mlbuffetRoutes } from './mlbuffet/routes.js';
import { trainingJobRoutes, trainingRoutes } from './training/routes.js';
import { installRouteMetrics } from './route-metrics.js';
import { profileRoutes } from './profiles/routes.js';
import { predictRoute } from './services/predict-route.js';
import { serviceProxyRoutes } from './services/proxy-routes.js';
import { serviceRoutes } from './services/routes.js';
import { serviceLogRoutes } from './services/log-routes.js';
import { keyRoutes } from './keys/routes.js';
import { sessionRoutes } from './session/routes.js';
import { uiRoutes } from './ui/routes.js';
import { auditRoutes } from './keys/audit-routes.js';
import { installAuthentication } from './security/authenticate.js';
import { installHostGuard } from './security/host-guard.js';
import { installOriginGuard } from './security/origin-guard.js';
import { requireAuthDecisions, type RouteEntry } from './security/route-auth.js';
import { openApiRoutes } from './openapi/docs-routes.js';
import { installRequestTracing } from './request-trace.js';
import { requestIdOf } from '../tracing/index.js';
import { registerOpenApi } from './openapi/register.js';
import { lazyValidators } from './lazy-validators.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its auth decision, as registered (docs/auth.md lists the same). */
    routeTable: RouteEntry[];
    /** Compiles every route's validation schema now (they compile on first use; the tests call this). */
    compileRouteSchemas: () => void;
  }
}

/**
 * The HTTP gateway. The plugin list below is the table of contents of the
 * API; each plugin owns its routes, schemas and error envelope.
 * Tests call app.inject(); server.ts calls listen().
 */
export async function buildApp(corral: Corral): Promise<FastifyInstance> {
  const validators = lazyValidators();
  const app = Fastify({
    loggerInstance: corral.logger as FastifyBaseLogger,
    // Per-request log lines cost throughput; /metrics counts requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    // The request's id (its X-Request-Id or traceparent's trace id when valid, else a new one) is on every log line about it.
    genReqId: (req) => requestIdOf(req.headers),
    bodyLimit: corral.config.maxBodyBytes,
    // Model names such as "iris.onnx" are path segments; keep them intact.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    // Fastify's defaults coerce types ("8" → 8, 42 → "42") and silently drop properties that
    // additionalProperties: false forbids; an API should answer 400 to a wrong type or a typo instead.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator: validators.build } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // First of all hooks: even a request the guards refuse is answered with its X-Request-Id.
  installRequestTracing(app);
  // Before route-auth and every route: swagger sees each route, and the docs' own routes get their decision (public).
  await registerOpenApi(app);
  app.decorate('routeTable', requireAuthDecisions(app));
  app.decorate('compileRouteSchemas', validators.compileAll);

  // MLBuffet documents predictions as GET with a JSON body; Fastify ignores GET bodies unless told.
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true });
  // An empty body is no body, whatever Content-Type a client sets by habit (curl -H, Ollama's clients).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) =>
    (body === '' ? done(null, undefined) : json(req, body as string, done)));
  installRouteMetrics(app, corral.metrics, corral.services);
  // Order matters: a wrong Host or a cross-site form is refused before any credential is looked at.
  installHostGuard(app, corral.config, () => corral.publicUrl);
  installOriginGuard(app, corral.config.auth.corsOrigins);
  installAuthentication(app, corral);
  app.setErrorHandler(errorHandler((e) => ({ error: e.message, code: e.code }), corral.logger));
  app.setNotFoundHandler((req) => {
    throw new CorralError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}; GET /help lists the routes.`);
  });
  // GET /openapi.json and the /docs page; the document holds every route, whenever registered.
  await app.register(openApiRoutes);

  // Model uploads (MLBuffet) and images (predictions, OCR) arrive as multipart, one file each.
  if (corral.config.auth.corsOrigins.length > 0) {
    await app.register(cors, { origin: corral.config.auth.corsOrigins, credentials: true, exposedHeaders: ['retry-after', 'www-authenticate', 'location', 'x-request-id', 'server-timing'] });
  }
  await app.register(multipart, { limits: { fileSize: corral.config.maxUploadBytes, files: 1, fields: 10 } });
  app.decorate('metricsSampler', startMetricsSampler(app, corral));
  await app.register(metricsRoute, { corral, sampler: app.metricsSampler });
  await app.register(mlbuffetRoutes, { corral });
  await app.register(trainingRoutes, { corral });
  await app.register(trainingJobRoutes, { corral });
  await app.register(kserveRoutes, { corral });
  await app.register(serviceRoutes, { corral });
  await app.register(serviceLogRoutes, { corral });
  await app.register(predictRoute, { corral });
  await app.register(laminoidRoutes, { corral });
  await app.register(openaiRoutes, { corral });
  await app.register(tgiRoutes, { corral });
  await app.register(neuralEnergyRoutes, { corral });
  await app.register(ollamaRoutes, { corral });
  await app.register(profileRoutes, { corral });
  await app.register(boxRoutes, { corral });
  await app.register(laminoidControllerRoutes, { corral });
  await app.register(serviceProxyRoutes, { corral, root: () => app });
  const jobs = await createJobQueue(corral, () => app);
  app.addHook('onClose', async () => jobs.close());
  await app.register(jobRoutes, { corral, jobs });
  await app.register(eventRoutes, { corral, jobs });
  await app.register(keyRoutes, { corral });
  await app.register(auditRoutes, { corral });
  await app.register(sessionRoutes, { corral });
  await app.register(uiRoutes, { dir: corral.config.uiDir });
  return app;
}
