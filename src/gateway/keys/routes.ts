import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { keyView, MODEL_GLOB, parseScopes, SCOPES, type RateLimit } from '../../auth/index.js';
import { CorralError } from '../../errors/index.js';
import type { Corral } from '../corral.js';

const RateLimitBody = Type.Object({
  requests_per_minute: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
}, { additionalProperties: false });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f]+$' }),
  scopes: Type.Array(Type.String(), { minItems: 1, maxItems: SCOPES.length, description: `Any of ${SCOPES.join(', ')}` }),
  models: Type.Union([Type.Array(Type.String({ pattern: MODEL_GLOB.source }), { minItems: 1, maxItems: 256 }), Type.Null()]),
  rate_limit: Type.Union([RateLimitBody, Type.Null()]),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
};
const CreateBody = Type.Object({
  name: Fields.name,
  scopes: Fields.scopes,
  models: Type.Optional(Fields.models),
  rate_limit: Type.Optional(Fields.rate_limit),
  expires_at: Type.Optional(Fields.expires_at),
  // Importing a token that clients already hold (Laminoid's 32-hex box tokens): at least 16 characters.
  secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512, pattern: '^[\\x21-\\x7e]+$' })),
}, { additionalProperties: false });
const UpdateBody = Type.Object({
  name: Type.Optional(Fields.name),
  scopes: Type.Optional(Fields.scopes),
  models: Type.Optional(Fields.models),
  rate_limit: Type.Optional(Fields.rate_limit),
  expires_at: Type.Optional(Fields.expires_at),
}, { additionalProperties: false, minProperties: 1 });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const rateLimitOf = (body: { requests_per_minute: number; burst?: number; concurrency?: number } | null | undefined): RateLimit | null | undefined => {
  if (body === undefined || body === null) return body;
  return { requestsPerMinute: body.requests_per_minute, burst: body.burst ?? body.requests_per_minute, ...(body.concurrency !== undefined ? { concurrency: body.concurrency } : {}) };
};

function expiry(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new CorralError('BAD_REQUEST', `expires_at '${value}' is not a date-time such as 2027-01-31T00:00:00Z.`);
  return new Date(at).toISOString();
}

/** API keys (admin only): create (the secret is shown once), list, show, update, revoke. */
export const keyRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { keys, audit } = corral;
  const admin = { auth: 'admin' } as const;

  app.post('/api/keys', { schema: { body: CreateBody }, config: admin }, async (req, reply) => {
    const { key, secret } = await keys.create({
      name: req.body.name,
      scopes: parseScopes(req.body.scopes, 'scopes'),
      models: req.body.models ?? null,
      rateLimit: rateLimitOf(req.body.rate_limit) ?? null,
      expiresAt: expiry(req.body.expires_at) ?? null,
      secret: req.body.secret,
    });
    audit.record('key.create', req, key.id, { name: key.name, scopes: key.scopes, imported: key.imported });
    reply.code(201);
    return { ...keyView(key), key: secret };
  });

  app.get('/api/keys', { config: admin }, async () => keys.list().map(keyView));
  app.get('/api/keys/:id', { schema: { params: IdParams }, config: admin }, async (req) => keyView(keys.get(req.params.id)));

  app.patch('/api/keys/:id', { schema: { params: IdParams, body: UpdateBody }, config: admin }, async (req) => {
    const key = await keys.update(req.params.id, {
      name: req.body.name,
      scopes: req.body.scopes === undefined ? undefined : parseScopes(req.body.scopes, 'scopes'),
      models: req.body.models,
      rateLimit: rateLimitOf(req.body.rate_limit),
      expiresAt: expiry(req.body.expires_at),
    });
    audit.record('key.update', req, key.id, { changed: Object.keys(req.body) });
    return keyView(key);
  });

  app.delete('/api/keys/:id', { schema: { params: IdParams }, config: admin }, async (req) => {
    const key = await keys.revoke(req.params.id);
    audit.record('key.revoke', req, key.id, { name: key.name });
    return keyView(key);
  });
};
