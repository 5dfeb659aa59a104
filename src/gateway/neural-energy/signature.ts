import type { Principal } from '../../auth/index.js';
import { CorralError } from '../../errors/index.js';
import type { ServiceRecord, ServiceRegistry } from '../../services/index.js';

/** The pseudo-servers of a Neural Energy gateway. */
export const SYSTEM_STATUS = 'SYSTEM_STATUS';
export const SAFE_KILL = 'SAFE_KILL_SERVER_CMD';

/** Neural Energy's servers: the RUNNING services (uploaded ONNX models included) this key may use, by name. */
export function availableServers(services: ServiceRegistry, principal: Principal): string[] {
  return services.list().filter((s) => s.status === 'RUNNING' && principal.canUse(s.name)).map((s) => s.name).sort();
}

/** How the original (Python) gateway printed a signature and its list of servers. */
const pyRepr = (value: unknown): string => (value === undefined || value === null ? 'None' : typeof value === 'string' ? value : JSON.stringify(value));
const pyList = (names: string[]) => `[${names.map((n) => `'${n}'`).join(', ')}]`;

/** The error Neural Energy's clients look for: `Bad signature X. Available signatures/servers: [...]`. */
export function badSignature(signature: unknown, available: string[]): CorralError {
  const message = `Bad signature ${pyRepr(signature)}. Available signatures/servers: ${pyList(available)}`;
  return new CorralError(typeof signature === 'string' && signature !== '' ? 'SERVICE_NOT_FOUND' : 'BAD_REQUEST', message);
}

/** The service a SIGNATURE names; a missing or unknown one is the Bad signature error (a key's other models: 403). */
export function serviceForSignature(services: ServiceRegistry, signature: unknown, principal: Principal): ServiceRecord {
  const service = typeof signature === 'string' && signature !== '' ? services.find(signature) : undefined;
  if (!service || service.name !== signature) throw badSignature(signature, availableServers(services, principal));
  principal.assertCanUse(service.name);
  return service;
}
