import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';
import { docsScopes } from './docs-routes.js';
import { topPlugin } from './families.js';
import { openApiHooks, SECURITY_SCHEMES, type RouteOrigins } from './transform.js';

/**
 * Sets up the OpenAPI document (docs/openapi.md). Call it before any route
 * and before requireAuthDecisions: swagger collects routes as they are
 * registered, and the docs plugin's routes (Swagger UI registers its own,
 * which cannot carry config.auth) are marked public here, before route-auth
 * looks for their decision.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const origins: RouteOrigins = new WeakMap();
  app.addHook('onRoute', function recordOrigin(this: FastifyInstance, route) {
    origins.set(route, this);
    const top = topPlugin(this, app);
    if (top !== undefined && docsScopes.has(top) && route.config?.auth === undefined) route.config = { ...route.config, auth: 'public' };
  });
  const { transform, transformObject } = openApiHooks(app, origins);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Corral',
        version: VERSION,
        description: 'Self-hosted machine-learning model serving: MLBuffet, KServe v2, Laminoid, OpenAI, TGI and more, over one gateway. '
          + 'Every route says who may call it (`x-corral-scope`: public, a scope, or a cluster service token); an API key travels in any of the security schemes. '
          + 'Errors come in the envelope of the API family called. `GET /help` lists the same routes in short.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform,
    transformObject,
  });
}
