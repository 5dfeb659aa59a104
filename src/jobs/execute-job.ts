import type { FastifyInstance } from 'fastify';
import { checkTaskRoute, defaultTaskRoute, type ServiceRegistry } from '../services/index.js';
import type { JobSpec } from './job.js';

export interface JobOutcome {
  ok: boolean;
  statusCode: number;
  body: unknown;
  error?: string;
}

/**
 * Runs a job through the gateway's own HTTP routes (in-process inject), so a
 * job is validated and answered exactly like the same synchronous request,
 * and acts as the key that submitted it (`callerHeaders`: that key as it is
 * now, so a key revoked meanwhile fails the job).
 */
export async function executeJob(app: FastifyInstance, services: ServiceRegistry, spec: JobSpec, callerHeaders: () => Record<string, string>): Promise<JobOutcome> {
  const service = services.get(spec.service);
  const route = spec.route === undefined ? defaultTaskRoute(service) : checkTaskRoute(service, spec.route);
  const res = await app.inject({
    method: 'POST',
    url: `/services/${encodeURIComponent(service.name)}/${route}`,
    payload: (spec.input ?? {}) as object,
    headers: { 'content-type': 'application/json', ...callerHeaders() },
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
