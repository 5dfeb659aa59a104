import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServiceRecord } from '../../services/index.js';
import type { Corral } from '../corral.js';
import { VERSION } from '../version.js';
import { contextLength, showModel, tagEntry } from './model-info.js';
import { modelOf, OLLAMA_TASKS, resolveModel } from './model-ref.js';
import { ModelBody } from './schemas.js';

/** Corral keeps a model loaded until memory is short (least recently used first), not for a fixed time. */
const NO_EXPIRY = '9999-12-31T23:59:59Z';

/**
 * GET /api/tags (the running chat and embedding services, as models),
 * POST /api/show, GET /api/ps (those a worker holds in memory) and GET /api/version.
 */
export const modelRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { services } = corral;
  const config = { auth: 'read' } as const;
  const listed = (canUse: (name: string) => boolean) => services.list()
    .filter((s) => s.status === 'RUNNING' && !s.fromRepository && OLLAMA_TASKS.includes(s.task) && canUse(s.name));

  app.get('/api/tags', { config }, async (req) => ({ models: listed((n) => req.principal.canUse(n)).map(tagEntry) }));

  app.post('/api/show', { schema: { body: ModelBody }, config }, async (req) =>
    showModel(resolveModel(services, modelOf(req.body), req.principal)));

  app.get('/api/ps', { config }, async (req) => {
    // Workers report the models they hold by key, `service:<id>@<version>`; any version of a service counts.
    const loaded = new Set(corral.dispatcher.workers().flatMap((w) => w.loadedModels).map((key) => key.slice(0, key.lastIndexOf('@'))));
    const isLoaded = (s: ServiceRecord) => loaded.has(`service:${s.id}`);
    return {
      models: listed((n) => req.principal.canUse(n)).filter(isLoaded).map((s) => {
        const entry = tagEntry(s);
        const context = contextLength(s);
        return { ...entry, expires_at: NO_EXPIRY, size_vram: 0, ...(context !== undefined ? { context_length: context } : {}) };
      }),
    };
  });

  app.get('/api/version', { config }, async () => ({ version: VERSION }));
};
