import type { FastifyInstance } from 'fastify';
import type { Scope } from '../../auth/index.js';

/**
 * Every route's auth decision: open to anyone ('public'), a scope an API key
 * must hold, the per-service token of a cluster job ('service-token':
 * register and invoke), or the upload token of a training job's Slurm job
 * ('training-token': its output). docs/auth.md lists them; a test keeps the
 * two equal.
 */
export type RouteAuth = 'public' | Scope | 'service-token' | 'training-token';

/** Decisions a cluster job's own token meets, never an API key. */
export const isJobToken = (auth: RouteAuth | undefined): auth is 'service-token' | 'training-token' => auth === 'service-token' || auth === 'training-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  auth: RouteAuth;
}

/**
 * Refuses to build a gateway with a route that has no auth decision, so no
 * route can ship open by accident, and records the route table.
 */
export function requireAuthDecisions(app: FastifyInstance): RouteEntry[] {
  const table: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // @fastify/cors answers preflights itself; they carry no credentials by design.
    if (route.url === '*' && methods.length === 1 && methods[0] === 'OPTIONS') route.config = { ...route.config, auth: 'public' };
    const auth = route.config?.auth;
    if (auth === undefined) {
      throw new Error(`Route ${methods.join(',')} ${route.url} has no auth decision: give it config.auth ('public', a scope, 'service-token' or 'training-token'); see docs/auth.md.`);
    }
    for (const method of methods) table.push({ method, url: route.url, auth });
  });
  return table;
}
