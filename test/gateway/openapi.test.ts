/**
 * The OpenAPI document (GET /openapi.json), its Swagger UI page (/docs) and
 * GET /help, against a real gateway with auth on: the document is structurally
 * valid OpenAPI 3.0, holds every registered route with its schemas, auth and
 * error envelope, and /docs renders it in Chromium without leaving 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium } from '@playwright/test';
import type { OpenAPIV3 } from 'openapi-types';
import { DOCS_CSP } from '../../src/gateway/openapi/docs-routes.js';
import { SUMMARIES } from '../../src/gateway/openapi/summaries.js';
import { bearer, startAuthServer } from '../auth/auth-helpers.js';
import type { TestServer } from '../helpers/test-server.js';
import { ARGS, CHROMIUM, openWatched } from '../ui/browser.js';

let server: TestServer & { adminKey: string };
let doc: OpenAPIV3.Document;

before(async () => {
  server = await startAuthServer();
  // Without a key: the document is public.
  const res = await fetch(`${server.url}/openapi.json`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  doc = await res.json() as OpenAPIV3.Document;
});
after(async () => { await server.close(); });

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Op = OpenAPIV3.OperationObject & { 'x-corral-scope'?: string };

/** Every operation of the document as [method, path, operation]. */
function operations(): Array<[string, string, Op]> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item?.[m] !== undefined).map((m) => [m, path, item![m] as Op] as [string, string, Op]));
}
const op = (method: string, path: string): Op => {
  const found = doc.paths[path]?.[method as (typeof METHODS)[number]] as Op | undefined;
  assert.ok(found, `${method.toUpperCase()} ${path} is in the document`);
  return found;
};
/** Fastify's `/v2/models/:name` written OpenAPI's way, `/v2/models/{name}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace('*', '{*}');

/** Follows a local `$ref` ('#/components/schemas/X'); undefined if it leads nowhere. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
const deref = <T>(value: T | OpenAPIV3.ReferenceObject): T => ('$ref' in (value as object) ? resolve((value as OpenAPIV3.ReferenceObject).$ref) as T : value as T);

/** Every value under `node`, with its JSON path, for whole-document checks. */
function* walk(node: unknown, path = '#'): Generator<[string, unknown]> {
  yield [path, node];
  if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) yield* walk(v, `${path}/${k}`);
  }
}

/** The few JSON Schema rules the envelopes use (type, required, properties, enum, nullable). */
function conforms(value: unknown, schema: Record<string, unknown>, at = 'body'): string[] {
  if (value === null) return schema.nullable === true ? [] : [`${at} is null`];
  const problems: string[] = [];
  const type = schema.type as string | undefined;
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (type !== undefined && type !== actual && !(type === 'number' && actual === 'integer')) problems.push(`${at} is ${actual}, not ${type}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${at} = ${JSON.stringify(value)} is not in its enum`);
  if (type === 'object' && value !== null && typeof value === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const key of (schema.required ?? []) as string[]) if (!Object.hasOwn(value, key)) problems.push(`${at}.${key} is missing`);
    for (const [key, v] of Object.entries(value)) {
      if (!properties[key]) problems.push(`${at}.${key} is not documented`);
      else problems.push(...conforms(v, properties[key]!, `${at}.${key}`));
    }
  }
  return problems;
}

// Routes left out of the document on purpose (docs/openapi.md): HEAD twins, the CORS
// preflight, the web UI's files, and Swagger UI's own files and copies of the document.
const EXCLUDED = new Set(['/ui/*', '/docs/static/*', '/docs/static/index.html', '/docs/static/swagger-initializer.js', '/docs/json', '/docs/yaml']);
const documentedRoutes = () => server.app.routeTable.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !EXCLUDED.has(r.url));

describe('GET /openapi.json', () => {
  test('is a structurally valid OpenAPI 3.0 document', () => {
    assert.match(doc.openapi, /^3\.0\.\d+$/);
    assert.equal(doc.info.title, 'Corral');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    const schemes = doc.components?.securitySchemes ?? {};
    const tags = new Set((doc.tags ?? []).map((t) => t.name));
    assert.equal(tags.size, doc.tags!.length, 'tag names are unique');
    const ids = new Set<string>();
    assert.ok(operations().length > 50, `the document has the gateway's routes (${operations().length})`);
    for (const [method, path, o] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.match(path, /^\//, where);
      assert.ok(o.responses && Object.keys(o.responses).length > 0, `${where} has responses`);
      for (const [status, response] of Object.entries(o.responses)) {
        assert.match(status, /^([1-5]\d\d|[1-5]XX|default)$/, `${where} response ${status}`);
        assert.equal(typeof deref<OpenAPIV3.ResponseObject>(response).description, 'string', `${where} ${status} has a description`);
      }
      assert.ok(o.tags?.length === 1 && tags.has(o.tags[0]!), `${where} has one declared tag: ${o.tags}`);
      if (o.operationId !== undefined) {
        assert.ok(!ids.has(o.operationId), `${where}: operationId ${o.operationId} is unique`);
        ids.add(o.operationId);
      }
      // Path parameters and the path template name the same parameters.
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
      const params = (o.parameters ?? []).map((p) => deref<OpenAPIV3.ParameterObject>(p));
      const inPath = params.filter((p) => p.in === 'path');
      assert.deepEqual(inPath.map((p) => p.name).sort(), inTemplate, `${where}: path parameters match the template`);
      for (const p of inPath) assert.equal(p.required, true, `${where}: path parameter ${p.name} is required`);
      for (const p of params) assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in), `${where}: parameter ${p.name} in ${p.in}`);
      for (const requirement of o.security ?? []) {
        for (const name of Object.keys(requirement)) assert.ok(schemes[name], `${where}: security scheme ${name} is declared`);
      }
    }
    for (const [at, node] of walk(doc)) {
      if (node === null || typeof node !== 'object') continue;
      const ref = (node as { $ref?: unknown }).$ref;
      if (typeof ref === 'string') assert.ok(resolve(ref) !== undefined, `${at}: $ref ${ref} resolves`);
      // OpenAPI 3.0 schemas: one type of its list, never JSON Schema's 'null' (3.0 says nullable).
      const type = (node as { type?: unknown }).type;
      if ((at.endsWith('/schema') || at.includes('/schemas/') || at.includes('/properties/')) && !at.includes('/example')) {
        if (type !== undefined && typeof type === 'string' && !at.endsWith('/properties/type')) {
          assert.ok(['string', 'number', 'integer', 'boolean', 'array', 'object'].includes(type), `${at}: type ${type}`);
        }
      }
    }
  });

  test('holds every registered route with its method, and no route that is not registered', () => {
    const registered = documentedRoutes().map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`).sort();
    const documented = operations().map(([method, path]) => `${method} ${path}`).sort();
    assert.deepEqual(documented, registered);
    // Each exclusion names a route that exists, so the list cannot hide a typo.
    for (const url of EXCLUDED) assert.ok(server.app.routeTable.some((r) => r.url === url), `${url} is registered`);
    // New API families are picked up with no per-route work.
    for (const path of ['/api/v1/models/{name}', '/v2/models/{name}/infer', '/v1/chat/completions', '/generate', '/embed', '/api/jobs', '/openapi.json', '/docs']) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
  });

  test('routes have their request schemas', () => {
    for (const path of ['/v2/models/{name}/infer', '/v2/models/{name}/versions/{version}/infer']) {
      const infer = op('post', path);
      const body = deref<OpenAPIV3.RequestBodyObject>(infer.requestBody!).content['application/json']!.schema as OpenAPIV3.SchemaObject;
      assert.equal(body.type, 'object');
      assert.deepEqual(body.required, ['inputs']);
      const inputs = body.properties!.inputs as OpenAPIV3.ArraySchemaObject;
      assert.equal(inputs.type, 'array');
      assert.equal(inputs.minItems, 1);
      assert.deepEqual((inputs.items as OpenAPIV3.SchemaObject).required, ['name', 'shape', 'datatype']);
      assert.deepEqual(Object.keys(body.properties!).sort(), ['id', 'inputs', 'outputs', 'parameters']);
    }
    // KServe shares one params schema (version optional) between both paths; each lists only its own.
    assert.deepEqual(op('post', '/v2/models/{name}/infer').parameters!.map((p) => deref<OpenAPIV3.ParameterObject>(p).name), ['name']);

    const config = op('patch', '/api/v1/models/{name}/config');
    const batching = deref<OpenAPIV3.RequestBodyObject>(config.requestBody!).content['application/json']!.schema as OpenAPIV3.SchemaObject;
    assert.deepEqual(Object.keys(batching.properties!), ['max_batch_size', 'max_queue_delay_microseconds', 'timeout_ms', 'padding']);
    assert.equal(batching.additionalProperties, false);
    assert.deepEqual(batching.properties!.max_batch_size, { type: 'integer', minimum: 0, maximum: 65536 });
    assert.deepEqual(config.parameters!.map((p) => deref<OpenAPIV3.ParameterObject>(p)).map((p) => [p.in, p.name]), [['path', 'name']]);

    const jobs = op('get', '/api/jobs').parameters!.map((p) => deref<OpenAPIV3.ParameterObject>(p));
    assert.deepEqual(jobs.map((p) => `${p.in} ${p.name}`).sort(), ['query cursor', 'query limit', 'query service', 'query state']);
    assert.equal((jobs.find((p) => p.name === 'state')!.schema as OpenAPIV3.SchemaObject).pattern, '^(queued|active|completed|failed|cancelled)$');
    const chat = deref<OpenAPIV3.RequestBodyObject>(op('post', '/v1/chat/completions').requestBody!).content['application/json']!.schema as OpenAPIV3.SchemaObject;
    assert.ok(chat.properties!.messages, 'chat completions take messages');
  });

  test('public routes have no security, every other route the scope route-auth gives it', () => {
    let secured = 0;
    for (const route of documentedRoutes()) {
      const o = op(route.method.toLowerCase(), openApiPath(route.url));
      const where = `${route.method} ${route.url}`;
      assert.equal(o['x-corral-scope'], route.auth, where);
      if (route.auth === 'public') {
        assert.deepEqual(o.security, [], `${where} is public`);
        assert.equal(o.responses['401'], undefined, `${where} never answers 401`);
        assert.match(o.description ?? '', /^Public: no API key needed\./, where);
        continue;
      }
      secured++;
      assert.ok(o.responses['401'], `${where} documents 401`);
      if (route.auth === 'service-token' || route.auth === 'training-token') {
        assert.deepEqual(o.security, [{ serviceToken: [] }], where);
        continue;
      }
      const expected = [{ bearer: [] }, { apiKey: [] }, { basic: [] }, ...(route.method === 'GET' ? [{ token: [] }] : [])];
      assert.deepEqual(o.security, expected, where);
      assert.ok(o.description?.includes(`API key with the \`${route.auth}\` scope`), `${where}: ${o.description}`);
      assert.ok(o.responses['403'], `${where} documents 403`);
    }
    assert.ok(secured > 40, `most routes are secured (${secured})`);
    assert.deepEqual(Object.keys(doc.components!.securitySchemes!).sort(), ['apiKey', 'basic', 'bearer', 'serviceToken', 'token']);
    assert.deepEqual(doc.components!.securitySchemes!.bearer, { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer <key>`.' });
  });

  test('error responses: the statuses a route can give, in the envelope of its family', () => {
    const statuses = (o: Op) => Object.keys(o.responses).filter((s) => s !== '200');
    const envelope = (o: Op, status: string) => ((deref<OpenAPIV3.ResponseObject>(o.responses[status]!).content!['application/json']!.schema) as OpenAPIV3.ReferenceObject).$ref;
    const infer = op('post', '/v2/models/{name}/infer');
    assert.deepEqual(statuses(infer), ['400', '401', '403', '404', '413', '415', '421', '429', '500', '503', '504']);
    for (const s of statuses(infer)) assert.equal(envelope(infer, s), '#/components/schemas/KServev2Error', s);
    assert.match((infer.responses['429'] as OpenAPIV3.ResponseObject).description, /`QUEUE_FULL`/);
    assert.ok((infer.responses['429'] as OpenAPIV3.ResponseObject).headers!['Retry-After']);
    assert.deepEqual(statuses(op('get', '/openapi.json')), ['421', '500']);
    assert.deepEqual(statuses(op('get', '/api/keys')), ['401', '403', '421', '429', '500']);
    assert.doesNotMatch((op('get', '/api/keys').responses['429'] as OpenAPIV3.ResponseObject).description, /QUEUE_FULL/);
    assert.deepEqual(statuses(op('post', '/api/services/{id}/register')), ['400', '401', '403', '404', '413', '415', '421', '500']);
    assert.equal(envelope(op('delete', '/api/v1/models/{name}'), '404'), '#/components/schemas/MLBuffetError');
    assert.equal(envelope(op('post', '/v1/chat/completions'), '401'), '#/components/schemas/OpenAIError');
    assert.equal(envelope(op('get', '/api/services/{id}'), '404'), '#/components/schemas/CorralError');
  });

  test("each family's documented envelope is what its routes really answer", async () => {
    const key = bearer(server.adminKey);
    const cases: Array<[string, string, string, number]> = [
      ['/api/v1/models/{name}', '/api/v1/models/nothing-here', 'MLBuffetError', 404],
      ['/v2/models/{name}', '/v2/models/nothing-here', 'KServev2Error', 404],
      ['/v1/models/{id}', '/v1/models/nothing-here', 'OpenAIError', 404],
      ['/api/services/{id}', '/api/services/nothing-here', 'CorralError', 404],
    ];
    for (const [path, url, name, status] of cases) {
      assert.equal(((op('get', path).responses[String(status)] as OpenAPIV3.ResponseObject).content!['application/json']!.schema as OpenAPIV3.ReferenceObject).$ref, `#/components/schemas/${name}`);
      const res = await fetch(`${server.url}${url}`, { headers: key });
      assert.equal(res.status, status, url);
      const body = await res.json();
      const schema = resolve(`#/components/schemas/${name}`) as Record<string, unknown>;
      assert.deepEqual(conforms(body, schema), [], `${url} answered ${JSON.stringify(body)}, documented as ${name}`);
      // And a body of another family's shape does not pass: the check can fail.
      assert.notDeepEqual(conforms({ unrelated: true }, schema), [], name);
    }
  });

  test('every summary line names a registered route', () => {
    const registered = new Set(server.app.routeTable.map((r) => `${r.method} ${r.url}`));
    for (const key of Object.keys(SUMMARIES)) assert.ok(registered.has(key), `summaries.ts: ${key} is not a registered route`);
    assert.equal(op('post', '/v2/models/{name}/infer').summary, SUMMARIES['POST /v2/models/:name/infer']);
  });
});

describe('/docs', () => {
  test('serves the Swagger UI page, its assets and the document, public, with a content security policy', async () => {
    const res = await fetch(`${server.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(res.headers.get('content-security-policy'), DOCS_CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<div id="swagger-ui"><\/div>/);
    assert.match(html, /<title>Corral API<\/title>/);
    const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(assets.filter((a) => !a.startsWith('/docs/static/')), [], 'every asset is served from /docs/static/, no CDN');
    assert.ok(assets.includes('/docs/static/swagger-ui-bundle.js') && assets.includes('/docs/static/swagger-ui.css'), assets.join(' '));
    for (const asset of assets) {
      const file = await fetch(`${server.url}${asset}`);
      assert.equal(file.status, 200, asset);
      assert.equal(file.headers.get('content-security-policy'), DOCS_CSP, asset);
      assert.match(file.headers.get('content-type') ?? '', /css|javascript|image\/png/, asset);
      await file.arrayBuffer();
    }
    const json = await fetch(`${server.url}/docs/json`);
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), doc);
  });

  test('renders every operation in Chromium, with no console error and no request off 127.0.0.1', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const { context, page, problems } = await openWatched(browser);
      await page.goto(`${server.url}/docs`);
      const total = operations().length;
      await page.waitForFunction(`document.querySelectorAll('.opblock').length === ${total}`, undefined, { timeout: 30_000 });
      const tags = await page.locator('.opblock-tag').allInnerTexts();
      assert.deepEqual(tags.map((t) => t.split('\n')[0]!.trim()), doc.tags!.map((t) => t.name));
      assert.equal(await page.locator('.opblock-summary-path[data-path="/v2/models/{name}/infer"]').count(), 1);
      // Open one operation: its body schema and error responses render.
      await page.locator('#operations-KServe_v2-post_v2_models__name__infer, [id^="operations-KServe"][id$="infer"]').first().locator('.opblock-summary').click();
      await page.getByText('MISDIRECTED_REQUEST', { exact: false }).first().waitFor();
      assert.ok(await page.locator('.authorize').count() > 0, 'the Authorize button is there');
      // No top bar: its box would load a document from anywhere.
      assert.equal(await page.locator('.topbar').count(), 0);
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

describe('GET /help', () => {
  test('lists every family and every documented route, in the MLBuffet envelope', async () => {
    const res = await fetch(`${server.url}/help`);
    assert.equal(res.status, 200);
    const body = await res.json() as { http_status: { code: number; name: string }; routes: Array<{ method: string; path: string; description: string; family: string }>; families: Array<{ name: string; routes: number }> };
    assert.deepEqual(body.http_status.code, 200);
    assert.equal(body.http_status.name, 'OK');
    assert.deepEqual(body.families.map((f) => f.name), doc.tags!.map((t) => t.name));
    for (const name of ['MLBuffet', 'KServe v2', 'Laminoid', 'OpenAI', 'TGI', 'Services', 'Jobs', 'Keys', 'Profiles', 'Events', 'Metrics', 'Session', 'OpenAPI']) {
      assert.ok(body.families.some((f) => f.name === name && f.routes > 0), `${name} is listed`);
    }
    // Every operation of the document is one line (or one method of a GET|POST line) of its family.
    const listed = new Set(body.routes.flatMap((r) => r.method.split('|').map((m) => `${m} ${r.path} ${r.family}`)));
    const expected = operations().map(([method, path, o]) => `${method.toUpperCase()} ${path.replace('{*}', '*').replace(/\{([^}]+)\}/g, '<$1>')} ${o.tags![0]}`);
    assert.deepEqual([...listed].sort(), expected.sort());
    for (const f of body.families) assert.equal(f.routes, body.routes.filter((r) => r.family === f.name).length, f.name);
    for (const r of body.routes) assert.ok(r.description.length > 0, `${r.method} ${r.path} has a description`);
    assert.ok(body.routes.some((r) => r.method === 'GET|POST' && r.path === '/api/v1/models/<name>/prediction'));
  });
});
