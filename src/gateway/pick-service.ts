import type { Principal } from '../auth/index.js';
import { CorralError } from '../errors/index.js';
import { TASKS, type ServiceRecord, type ServiceRegistry, type Task } from '../services/index.js';

/** The built-in service answering a task when the request names none. */
const DEFAULT_FOR: Partial<Record<Task, string>> = { 'feature-extraction': 'embed', keyterms: 'keyterms', ocr: 'ocr' };

/**
 * The service a task-level request goes to: the one it names (by name or id),
 * else the task's built-in, else the only service doing that task. Only
 * services the caller's key may use are picked (a named other one is 403).
 */
export function pickService(registry: ServiceRegistry, task: Task, name: string | undefined, principal: Principal): ServiceRecord {
  if (name !== undefined && name !== '') {
    const service = registry.get(name);
    principal.assertCanUse(service.name);
    if (service.task !== task) {
      throw new CorralError('INVALID_INPUT', `Service '${service.name}' does ${service.task}, not ${task}; choose a ${task} service (GET /api/services).`);
    }
    return service;
  }
  const builtin = DEFAULT_FOR[task] && registry.find(DEFAULT_FOR[task]!);
  if (builtin && builtin.task === task && principal.canUse(builtin.name)) return builtin;
  const candidates = registry.list().filter((s) => s.task === task && s.status === 'RUNNING' && principal.canUse(s.name));
  // A key limited to other models is told so, rather than that nothing runs.
  if (candidates.length === 0 && builtin && builtin.task === task) principal.assertCanUse(builtin.name);
  if (candidates.length === 0) {
    throw new CorralError('SERVICE_NOT_FOUND', `No ${task} service is running; start one with POST /api/services {"task": "${task}", "model": "..."}${TASKS[task].runtimes.includes('transformers') ? ' (runtime transformers)' : ''}.`);
  }
  return candidates[0]!;
}
