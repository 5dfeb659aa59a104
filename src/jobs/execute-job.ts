import type { FastifyInstance } from 'fastify';
import type { ServiceRegistry } from '../services/index.js';
import type { JobSpec } from './job.js';

/** The route a job goes to when it names none: its service's task route. */
function defaultRoute(task: string, service: string): string {
  switch (task) {
    case 'feature-extraction': return 'embed';
    case 'keyterms': return 'keyterms';
    case 'ocr': return 'ocr';
    case 'text-generation': return 'generate';
    case 'tensor': return `v2/models/${encodeURIComponent(service)}/infer`;
    default: return `api/services/${encodeURIComponent(service)}/predict`;
  }
}

export interface JobOutcome {
  ok: boolean;
  statusCode: number;
  body: unknown;
  error?: string;
}

/**
 * Runs a job through the gateway's own HTTP routes (in-process inject), so a
 * job is validated and answered exactly like the same synchronous request.
 */
export async function executeJob(app: FastifyInstance, services: ServiceRegistry, spec: JobSpec): Promise<JobOutcome> {
  const service = services.get(spec.service);
  const route = spec.route?.replace(/^\//, '') ?? defaultRoute(service.task, service.name);
  const res = await app.inject({
    method: 'POST',
    url: `/services/${encodeURIComponent(service.name)}/${route}`,
    payload: (spec.input ?? {}) as object,
    headers: { 'content-type': 'application/json' },
  });
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = res.body;
  }
  if (res.statusCode < 400) return { ok: true, statusCode: res.statusCode, body };
  const error = (body as { error?: string | { message?: string }; http_status?: { description?: string } }) ?? {};
  const message = typeof error.error === 'string' ? error.error : error.error?.message ?? error.http_status?.description ?? `HTTP ${res.statusCode}`;
  return { ok: false, statusCode: res.statusCode, body, error: message };
}
