import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';

/**
 * What the docs page may load: Swagger UI's script and styles from this
 * gateway (node_modules, no CDN), its logo as a data: URL, the document by
 * fetch; nothing else, never framed. Swagger UI sets styles through the DOM
 * (allowed) and needs no inline script, inline style element or eval.
 */
export const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
  + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** The plugin instances of openApiRoutes: every route registered inside one is public (register.ts). */
export const docsScopes = new WeakSet<object>();

/**
 * GET /openapi.json, the document, and /docs, Swagger UI showing it (with
 * /docs/json, /docs/yaml and its files under /docs/static/). Public: they
 * describe the API and hold no data.
 */
export const openApiRoutes: FastifyPluginAsync = async (app) => {
  docsScopes.add(app);
  app.get('/openapi.json', { config: { auth: 'public' } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    theme: { title: 'Corral API' },
    // No validator badge: it would send the document to validator.swagger.io.
    validatorUrl: false,
    // BaseLayout: no top bar, whose URL box loads documents from anywhere and whose logo is an SVG with an inline <style>.
    uiConfig: { layout: 'BaseLayout', deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, tryItOutEnabled: false },
    uiHooks: {
      onRequest: (_req, reply, done) => {
        reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
        done();
      },
    },
  });
};
