import type { Principal } from '../../auth/index.js';
import { CorralError } from '../../errors/index.js';
import type { ServiceRecord, ServiceRegistry, Task } from '../../services/index.js';

/** The tasks the Ollama API can serve: chat/generate and embeddings. */
export const OLLAMA_TASKS: readonly Task[] = ['text-generation', 'feature-extraction'];

/** Ollama names carry a tag (`gpt2:latest`); Corral's services have none. */
export const withTag = (name: string) => `${name}:latest`;
const untagged = (ref: string) => (ref.endsWith(':latest') ? ref.slice(0, -':latest'.length) : ref);

/** The model a body names: Ollama's `model`, or `name` as older clients (and pull/delete) send it. */
export function modelOf(body: { model?: string; name?: string }): string {
  const ref = body.model || body.name;
  if (!ref) throw new CorralError('BAD_REQUEST', 'model is required');
  return ref;
}

/** A service by name (tag `:latest` or none), else the first one serving that model (hub id or path), if any. */
export function findModel(services: ServiceRegistry, ref: string): ServiceRecord | undefined {
  const name = untagged(ref);
  return services.find(name) ?? services.list().find((s) => !s.fromRepository && (s.model === name || s.model === ref));
}

/**
 * The service an Ollama request names: 404 in Ollama's words when there is none,
 * 403 when the key may not use it, 400 when it does another task.
 */
export function resolveModel(services: ServiceRegistry, ref: string, principal: Principal, tasks: readonly Task[] = OLLAMA_TASKS): ServiceRecord {
  const service = findModel(services, ref);
  if (!service || service.fromRepository) {
    throw new CorralError('SERVICE_NOT_FOUND', `model '${ref}' not found; GET /api/tags lists the models, POST /api/pull starts one`);
  }
  principal.assertCanUse(service.name);
  if (!tasks.includes(service.task)) {
    const wanted = tasks.length === 1 ? tasks[0] : tasks.join(' or ');
    throw new CorralError('INVALID_INPUT', `model '${ref}' is a ${service.task} service, not ${wanted}; GET /api/tags lists the models this API serves`);
  }
  return service;
}
