import { CorralError } from '../errors/index.js';

/**
 * What a key may do. `admin` implies every other scope; the rest are
 * independent, so a Laminoid-style controller key can be `read` +
 * `services:operate` (list, start, stop) without `services:write` (create).
 */
export const SCOPES = ['read', 'infer', 'models:write', 'services:operate', 'services:write', 'metrics', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** Checks a list of scope names from a request or the environment; throws a 400 naming the unknown one. */
export function parseScopes(names: readonly string[], where: string): Scope[] {
  const unknown = names.filter((n) => !isScope(n));
  if (unknown.length > 0) {
    throw new CorralError('BAD_REQUEST', `${where}: unknown scope '${unknown[0]}'; scopes are ${SCOPES.join(', ')}.`);
  }
  return [...new Set(names)] as Scope[];
}

export const grants = (held: ReadonlySet<Scope>, needed: Scope) => held.has('admin') || held.has(needed);
