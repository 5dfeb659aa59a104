import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Corral } from '../corral.js';

const Query = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  key_id: Type.Optional(Type.String({ maxLength: 64 })),
});

/** GET /api/audit (admin): key changes, failed authentications, model, service and profile changes, newest first. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  app.get('/api/audit', { schema: { querystring: Query }, config: { auth: 'admin' } }, async (req) =>
    corral.audit.list({ limit: req.query.limit ? Number(req.query.limit) : undefined, action: req.query.action, keyId: req.query.key_id }));
};
