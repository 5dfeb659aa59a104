import type { OpenAPIV3 } from 'openapi-types';

/** One line of GET /help: MLBuffet's fields (method, path, description) and the API family. */
export interface HelpRoute {
  method: string;
  path: string;
  description: string;
  family: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/**
 * GET /help's lists, read from the OpenAPI document (so every API family and
 * every route the gateway registered is there, and nothing else): the routes
 * in registration order, paths written MLBuffet's way (`<name>`), methods of
 * one path that do the same thing joined (`GET|POST`); and the families.
 */
export function helpLists(doc: OpenAPIV3.Document): { routes: HelpRoute[]; families: Array<{ name: string; description: string; routes: number }> } {
  const routes: HelpRoute[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shown = path.replace(/\{\*\}/g, '*').replace(/\{([^}]+)\}/g, '<$1>');
    // The path item's own key order is the order the routes were registered in.
    for (const method of Object.keys(item ?? {}).filter((k): k is (typeof METHODS)[number] => (METHODS as readonly string[]).includes(k))) {
      const op = item?.[method];
      if (!op) continue;
      const description = op.summary ?? '';
      const family = op.tags?.[0] ?? '';
      const last = routes.at(-1);
      if (last && last.path === shown && last.description === description && last.family === family) last.method += `|${method.toUpperCase()}`;
      else routes.push({ method: method.toUpperCase(), path: shown, description, family });
    }
  }
  const families = (doc.tags ?? [])
    .map((t) => ({ name: t.name, description: t.description ?? '', routes: routes.filter((r) => r.family === t.name).length }))
    .filter((f) => f.routes > 0);
  return { routes, families };
}
