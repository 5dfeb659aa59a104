import type { SwaggerTransformObject } from '@fastify/swagger';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { ERROR_CATALOG, type ErrorCode } from '../../errors/index.js';
import { isJobToken, type RouteAuth } from '../security/route-auth.js';
import { GATEWAY, familyOfPlugin, ownPluginName, topPlugin, type Family } from './families.js';
import { sampleErrorBody, schemaOfSample } from './error-schema.js';
import { SUMMARIES } from './summaries.js';

/** The credentials an API key travels in (docs/auth.md); any one will do. */
export const SECURITY_SCHEMES: Record<string, OpenAPIV3.SecuritySchemeObject> = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer <key>`.' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key in `X-API-Key`.' },
  basic: { type: 'http', scheme: 'basic', description: "HTTP Basic with the API key as the password and any user name (Laminoid's `curl -u sloth:<key>`)." },
  token: { type: 'apiKey', in: 'query', name: 'token', description: 'An API key in `?token=` (GET routes only: event streams, links).' },
  serviceToken: { type: 'http', scheme: 'bearer', description: "A cluster job's launch token (or the host credential derived from it), or a training job's upload token; never an API key." },
};

// Private extension fields the transform leaves on an operation for transformObject, which removes them.
const ERRORS = 'x-corral-error-schema';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const OPENAPI = 'OpenAPI';
const WRITES = new Set(['post', 'put', 'patch', 'delete']);

/** Which plugin registered each route: the onRoute hook records it, the transform reads it. */
export type RouteOrigins = WeakMap<object, FastifyInstance>;

function familyOf(instance: FastifyInstance, root: FastifyInstance): Family {
  const top = topPlugin(instance, root);
  return top === undefined ? GATEWAY : familyOfPlugin(ownPluginName(top));
}

function describeAuth(auth: RouteAuth | undefined): string {
  if (auth === 'public') return 'Public: no API key needed.';
  if (auth === 'service-token') return "Needs the service's cluster launch token (`service-token`); an API key, even an admin's, is refused.";
  if (auth === 'training-token') return "Needs the training job's upload token (`training-token`), which only its Slurm batch script holds; an API key, even an admin's, is refused.";
  return `Needs an API key with the \`${auth}\` scope${auth === 'admin' ? '' : " (or `admin`, which implies every scope)"}.`;
}

/** Routes left out of the document: HEAD twins (swagger drops them), the CORS preflight, the UI's and Swagger UI's own files. */
function hidden(route: RouteOptions, family: Family, schema: FastifySchema | undefined): boolean {
  if (route.method === 'OPTIONS' || (Array.isArray(route.method) && route.method.includes('OPTIONS'))) return true;
  if (family.name === 'Web UI') return route.url !== '/ui';
  if (family.name === OPENAPI) return !(route.url === '/docs' || route.url === '/openapi.json');
  return schema?.hide === true;
}

/**
 * The two swagger hooks: `transform` gives each route its family's tag, a
 * summary, its auth (security requirement and `x-corral-scope`) from the
 * route's own `config.auth`; `transformObject` adds what needs the whole
 * document: the tags, the security schemes, each family's error envelope
 * (sampled from the error handler that really answers for the route) and
 * every operation's error responses.
 */
export function openApiHooks(root: FastifyInstance, origins: RouteOrigins) {
  const families = new Map<string, Family>();
  /** Error envelope schemas by component name, and the name of each distinct envelope. */
  const envelopes = new Map<string, Record<string, unknown>>();
  const envelopeNames = new Map<string, string>();

  const envelopeOf = (instance: FastifyInstance, family: Family): string | undefined => {
    const sample = sampleErrorBody(instance);
    if (sample === undefined) return undefined;
    // One component per family and envelope: two families with the same shape still read as their own.
    const shared = instance.errorHandler === root.errorHandler;
    const key = shared ? JSON.stringify(sample) : `${family.name}\n${JSON.stringify(sample)}`;
    let name = envelopeNames.get(key);
    if (name === undefined) {
      // The gateway's own envelope serves every family without one of its own.
      const base = shared ? 'CorralError' : `${family.name.replace(/[^A-Za-z0-9]/g, '')}Error`;
      name = base;
      for (let i = 2; envelopes.has(name); i++) name = `${base}${i}`;
      envelopeNames.set(key, name);
      const description = base === 'CorralError' ? 'The error body of the routes whose API has no envelope of its own.' : `The error body of the ${family.name} routes.`;
      envelopes.set(name, { ...schemaOfSample(sample), description });
    }
    return name;
  };

  const transform = ({ schema, url, route }: { schema: FastifySchema; url: string; route: RouteOptions }) => {
    const instance = origins.get(route) ?? root;
    const family = familyOf(instance, root);
    if (hidden(route, family, schema)) return { schema: { ...schema, hide: true }, url };
    families.set(family.name, family);
    const auth = route.config?.auth;
    const method = Array.isArray(route.method) ? route.method[0]! : route.method;
    const anyKey = [{ bearer: [] }, { apiKey: [] }, { basic: [] }, ...(method === 'GET' ? [{ token: [] }] : [])];
    const security = auth === 'public' ? [] : isJobToken(auth) ? [{ serviceToken: [] }] : anyKey;
    return {
      url,
      schema: {
        ...schema,
        params: paramsIn(url, schema?.params),
        hide: false, // Swagger UI hides its own routes; its page is shown (hidden() decides)
        tags: [family.name],
        summary: schema?.summary ?? SUMMARIES[`${method} ${url}`] ?? `${family.name}: ${method} ${url}`,
        description: [schema?.description, describeAuth(auth)].filter((d) => d !== undefined).join('\n\n'),
        security,
        'x-corral-scope': auth,
        [ERRORS]: envelopeOf(instance, family),
      } as FastifySchema,
    };
  };

  const transformObject: SwaggerTransformObject = (input) => {
    const doc = (input as { openapiObject: OpenAPIV3.Document }).openapiObject;
    // In registration order (app.ts's table of contents), but the document describes itself last.
    const self = (tags: string[] | undefined) => tags?.[0] === OPENAPI;
    doc.tags = [...families.values()].map((f) => ({ name: f.name, description: f.description })).sort((a, b) => Number(self([a.name])) - Number(self([b.name])));
    const paths = Object.entries(doc.paths);
    const isSelf = ([, item]: (typeof paths)[number]) => METHODS.some((m) => self(item?.[m]?.tags));
    doc.paths = Object.fromEntries([...paths.filter((p) => !isSelf(p)), ...paths.filter(isSelf)]);
    const components = (doc.components ??= {});
    components.schemas = { ...components.schemas, ...(Object.fromEntries(envelopes) as Record<string, OpenAPIV3.SchemaObject>) };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item?.[method] as (OpenAPIV3.OperationObject & Record<string, unknown>) | undefined;
        if (!op) continue;
        const envelope = op[ERRORS] as string | undefined;
        delete op[ERRORS];
        for (const [status, response] of Object.entries(errorResponses(op, method, path, envelope))) {
          op.responses[status] ??= response;
        }
      }
    }
    return doc as ReturnType<SwaggerTransformObject>;
  };

  return { transform, transformObject };
}

/**
 * A route's params schema without the parameters its path lacks: KServe
 * shares one schema (`version` optional) between `/v2/models/:name` and
 * `/v2/models/:name/versions/:version`, but a path parameter must be in the path.
 */
function paramsIn(url: string, params: unknown): unknown {
  const schema = params as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (schema?.properties === undefined) return params;
  const inUrl = new Set([...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!).concat(url.includes('*') ? ['*'] : []));
  const names = Object.keys(schema.properties).filter((n) => inUrl.has(n));
  if (names.length === Object.keys(schema.properties).length) return params;
  return { ...schema, properties: Object.fromEntries(names.map((n) => [n, schema.properties![n]])), required: names };
}

/** Catalog codes that a status carries, narrowed where the route tells more. */
const codesOf = (status: number, only?: readonly ErrorCode[]): ErrorCode[] =>
  (Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((c) => ERROR_CATALOG[c].status === status && (only === undefined || only.includes(c)));

/**
 * The 4xx and 5xx an operation can answer, by the rules every route follows:
 * any request can meet the Host guard (421) and an unexpected error (500);
 * input can be malformed (400); a write can come from another origin (403);
 * a secured route checks key, scope and quota (401, 403, 429); a path names
 * something that may not exist (404); a body can be too large or of the wrong
 * type (413, 415); inference can queue, fail or time out (429, 503, 504).
 */
function errorResponses(op: OpenAPIV3.OperationObject & Record<string, unknown>, method: string, path: string, envelope: string | undefined): Record<string, OpenAPIV3.ResponseObject> {
  const scope = op['x-corral-scope'] as RouteAuth | undefined;
  const secured = scope !== undefined && scope !== 'public';
  const params = (op.parameters ?? []) as OpenAPIV3.ParameterObject[];
  const hasBody = op.requestBody !== undefined || WRITES.has(method) && method !== 'delete';
  const wanted = new Map<number, ErrorCode[]>();
  if (hasBody || params.length > 0) wanted.set(400, codesOf(400));
  if (secured) wanted.set(401, codesOf(401));
  if ((secured && !isJobToken(scope)) || WRITES.has(method)) wanted.set(403, codesOf(403));
  if (params.some((p) => p.in === 'path') || path.includes('{')) wanted.set(404, codesOf(404));
  if (hasBody) { wanted.set(413, codesOf(413)); wanted.set(415, codesOf(415)); }
  wanted.set(421, codesOf(421));
  if (secured && !isJobToken(scope)) wanted.set(429, codesOf(429, scope === 'infer' ? undefined : ['RATE_LIMITED', 'CONCURRENCY_LIMITED']));
  wanted.set(500, codesOf(500));
  if (scope === 'infer') { wanted.set(503, codesOf(503, ['NO_WORKERS', 'SERVICE_NOT_READY', 'INFERENCE_FAILED'])); wanted.set(504, codesOf(504)); }

  const responses: Record<string, OpenAPIV3.ResponseObject> = {};
  for (const [status, codes] of [...wanted].sort(([a], [b]) => a - b)) {
    const response: OpenAPIV3.ResponseObject = { description: codes.map((c) => `\`${c}\`: ${ERROR_CATALOG[c].summary}`).join('\n\n') };
    if (envelope !== undefined) response.content = { 'application/json': { schema: { $ref: `#/components/schemas/${envelope}` } } };
    if (status === 401) response.headers = { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="corral"' } };
    if (status === 429) response.headers = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' } };
    responses[String(status)] = response;
  }
  return responses;
}
