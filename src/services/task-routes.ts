import { CorralError } from '../errors/index.js';
import type { ServiceRecord } from './service-record.js';
import type { Task } from './tasks.js';

/**
 * The gateway routes (relative to its root) that a service's requests may be
 * sent to through /services/<service>/<route> or an async job: the routes of
 * its task, and nothing else. Service and model names are already limited to
 * letters, digits, '.', '_' and '-'.
 */
export function taskRoutes(service: Pick<ServiceRecord, 'name' | 'task'>): string[] {
  const predict = `api/services/${service.name}/predict`;
  switch (service.task as Task) {
    case 'feature-extraction': return ['embed', 'v1/embeddings', predict];
    case 'keyterms': return ['keyterms', predict];
    case 'ocr': return ['ocr'];
    case 'text-generation': return ['generate', 'generate_stream', 'v1/chat/completions', 'v1/completions', predict];
    case 'tensor': return [`v2/models/${service.name}/infer`, `api/v1/models/${service.name}/prediction`];
    default: return [predict];
  }
}

/** The route a request or job names when it names none: the task's first. */
export const defaultTaskRoute = (service: Pick<ServiceRecord, 'name' | 'task'>) => taskRoutes(service)[0]!;

/**
 * Checks a route a caller chose for a service (already percent-decoded) and
 * returns it without its leading '/'. Anything that could walk out of the
 * service's routes ('..', encoded dots, backslashes, absolute URLs, other
 * routes) is a 400 listing the routes allowed.
 */
export function checkTaskRoute(service: Pick<ServiceRecord, 'name' | 'task'>, route: string): string {
  const allowed = taskRoutes(service);
  const clean = route.replace(/^\//, '').replace(/\/$/, '');
  if (!allowed.includes(clean)) {
    throw new CorralError('BAD_REQUEST', `Route '${route}' is not a route of service '${service.name}' (${service.task}); use one of: ${allowed.join(', ')}.`);
  }
  return clean;
}
