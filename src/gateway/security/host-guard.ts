import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { CorralConfig } from '../../config/index.js';
import { CorralError } from '../../errors/index.js';

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** 'Example.org:8000' → 'example.org', '[::1]:80' → '::1'. */
export function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.indexOf(':');
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

/** Names this gateway answers to: its bind address (every local address when bound to all), localhost, the public URL, CORRAL_ALLOWED_HOSTS. */
export function allowedHosts(config: CorralConfig, publicUrl: string): Set<string> {
  const hosts = new Set<string>(['localhost', ...config.auth.allowedHosts]);
  const bind = hostOf(config.host);
  if (WILDCARD.has(bind)) {
    hosts.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(a.address.toLowerCase());
  } else {
    hosts.add(bind);
  }
  try {
    hosts.add(hostOf(new URL(publicUrl).host));
  } catch { /* an unparsable public URL adds nothing */ }
  return hosts;
}

/**
 * DNS rebinding guard: a page on evil.example whose name is made to resolve
 * to 127.0.0.1 still sends `Host: evil.example`; such requests get 421.
 */
export function installHostGuard(app: FastifyInstance, config: CorralConfig, publicUrl: () => string): void {
  let cachedFor = '';
  let hosts = new Set<string>();
  app.addHook('onRequest', (req, _reply, done) => {
    const header = req.headers.host;
    if (header === undefined) return done();
    if (cachedFor !== publicUrl()) {
      cachedFor = publicUrl();
      hosts = allowedHosts(config, cachedFor);
    }
    const host = hostOf(header);
    if (hosts.has(host)) return done();
    done(new CorralError('MISDIRECTED_REQUEST', `Host '${host}' is not a name of this gateway; add it to CORRAL_ALLOWED_HOSTS if clients use it.`));
  });
}
