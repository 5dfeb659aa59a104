import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CorralMetrics } from '../metrics/index.js';
import { TASKS, taskRoutes, type ServiceRegistry, type Task } from '../services/index.js';
import { pickService } from './pick-service.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** API family label for request metrics; routes without it are not counted. */
    api?: string;
  }
}

/**
 * Route patterns of the services' task routes ('/embed', '/v1/embeddings',
 * '/api/services/:id/predict', ...) and the task each serves, from the same
 * table that says which routes a service has (taskRoutes). The tensor task's
 * routes (KServe, MLBuffet) are registered with `:name`, which is the label.
 */
const TASK_OF_ROUTE = new Map<string, Task | undefined>();
for (const task of Object.keys(TASKS) as Task[]) {
  for (const route of taskRoutes({ name: ':id', task })) {
    const url = `/${route}`;
    // A route several tasks share (predict) always names its service.
    TASK_OF_ROUTE.set(url, TASK_OF_ROUTE.has(url) && TASK_OF_ROUTE.get(url) !== task ? undefined : task);
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The model label of a request: the path's model name (KServe, MLBuffet), or
 * for a task route the name of the service it went to, the same name the
 * batcher labels queue depth and batch size with. Task routes name their
 * service by id or name in the path (predict), the body (`service`/`model`) or
 * the query (multipart OCR), or not at all (then the task's pick, as the route
 * made it). '' when none can be told (no such service).
 */
function modelOf(request: FastifyRequest, services: ServiceRegistry): string {
  const params = request.params as { name?: string; id?: string } | undefined;
  if (params?.name) return params.name;
  const url = request.routeOptions.url;
  if (url === undefined || !TASK_OF_ROUTE.has(url)) return '';
  const body = request.body as { service?: unknown; model?: unknown } | undefined;
  const query = request.query as { service?: unknown; model?: unknown } | undefined;
  const named = str(params?.id) ?? str(body?.service) ?? str(body?.model) ?? str(query?.service) ?? str(query?.model);
  // An unknown name stays '': a client must not be able to mint label values.
  if (named !== undefined) return services.find(named)?.name ?? '';
  const task = TASK_OF_ROUTE.get(url);
  if (!task || !request.principal) return '';
  try {
    return pickService(services, task, undefined, request.principal).name;
  } catch {
    return ''; // nothing could serve it (the route answered that)
  }
}

/** Counts and times every request of routes that declare `config.api`, labelled by model. */
export function installRouteMetrics(app: FastifyInstance, metrics: CorralMetrics, services: ServiceRegistry): void {
  app.addHook('onResponse', async (request, reply) => {
    const api = request.routeOptions.config?.api;
    if (!api) return;
    const labels = { model: modelOf(request, services), api, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
  });
}
