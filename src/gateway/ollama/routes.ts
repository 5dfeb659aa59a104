import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Corral } from '../corral.js';
import { errorHandler } from '../error-envelope.js';
import { embedRoutes } from './embed-routes.js';
import { generateRoutes } from './generate-routes.js';
import { modelRoutes } from './model-routes.js';
import { ollamaError } from './ollama-error.js';
import { pullRoutes } from './pull-routes.js';

/**
 * Ollama's API over Corral's services (docs/ollama.md): a text-generation or
 * feature-extraction service is an Ollama model named `<service>:latest`.
 * Errors in Ollama's `{"error": "..."}`, with the catalog's status.
 */
export const ollamaRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  app.setErrorHandler(errorHandler(ollamaError, corral.logger));
  // Ollama reads every body as JSON whatever its Content-Type (`curl -d` sends a form type); an empty one is none.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => (body === '' ? done(null, undefined) : json(req, body as string, done)));
  await app.register(modelRoutes, { corral });
  await app.register(embedRoutes, { corral });
  await app.register(generateRoutes, { corral });
  await app.register(pullRoutes, { corral });
};
