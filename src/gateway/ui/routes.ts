import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CorralError } from '../../errors/index.js';

/** Where `vite build` (the `prepare` script) puts the web UI. */
export const UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

/**
 * What the UI's pages may load: only this gateway (scripts, styles, fetch and
 * EventSource), images also as data: URLs; never framed, no plugins.
 */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
  + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** Every file of the built UI, by its path under /ui/ ('index.html', 'assets/index-3f2a.js'). */
function builtFiles(dir: string): Set<string> {
  const files = new Set<string>();
  if (!existsSync(dir)) return files;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.add(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files;
}

/**
 * GET /ui/ and /ui/*: the web UI's static files from dist/ui, public (they hold
 * no data; every API call they make is authenticated). A path that is not a
 * file and is not a top-level name with an extension is a page of the app (a deep link): index.html.
 * Hashed assets are cached for a year; index.html never.
 */
export const uiRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, options) => {
  const dir = options.dir ?? UI_DIR;
  await app.register(fastifyStatic, { root: dir, serve: false });
  // Read per request only while the UI is missing (a build may appear later); the listing is cheap.
  let files = builtFiles(dir);
  const current = () => (files.size > 0 ? files : (files = builtFiles(dir)));

  const send = (reply: FastifyReply, path: string) => {
    reply.header('content-security-policy', UI_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (path === 'index.html') {
      reply.header('cache-control', 'no-cache');
      return reply.sendFile(path, { cacheControl: false });
    }
    const hashed = path.startsWith('assets/');
    return reply.sendFile(path, { maxAge: hashed ? 365 * 24 * 3600_000 : 0, immutable: hashed });
  };

  const serve = async (path: string, reply: FastifyReply) => {
    const built = current();
    if (!built.has('index.html')) {
      throw new CorralError('UI_NOT_BUILT', `The web UI is not built: run 'npm run build:ui' (npm ci does it) to make ${dir}.`);
    }
    if (built.has(path) && statSync(join(dir, path)).isFile()) return send(reply, path);
    // A missing file (an old asset, a typo like /ui/favicon.icon) is 404; anything else is a
    // page of the app, including pages named after a model (/ui/services/iris.onnx).
    if (path.startsWith('assets/') || (!path.includes('/') && /\.[a-z0-9]+$/i.test(path))) {
      throw new CorralError('NOT_FOUND', `No file /ui/${path} in the web UI.`);
    }
    return send(reply, 'index.html');
  };

  app.get('/ui', { config: { auth: 'public' } }, async (_req, reply) => serve('index.html', reply));
  app.get<{ Params: { '*': string } }>('/ui/*', { config: { auth: 'public' } }, async (req, reply) => serve(req.params['*'] ?? '', reply));
};
