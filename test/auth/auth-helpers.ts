/** Helpers of the auth suites: a gateway with auth on, keys made through the API, raw requests. */
import { request } from 'node:http';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { CorralConfig } from '../../src/config/index.js';

export async function startAuthServer(overrides: Partial<CorralConfig> = {}, env: Record<string, string> = {}): Promise<TestServer & { adminKey: string }> {
  const server = await startTestServer({ workers: 1, ...overrides }, { CORRAL_AUTH: 'on', ...env });
  if (!server.adminKey) throw new Error('the first start with auth on made no admin key');
  return server as TestServer & { adminKey: string };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  scopes: string[];
}

/** POST /api/keys as the admin; throws unless 201. */
export async function createKey(url: string, adminKey: string, body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await fetch(`${url}/api/keys`, { method: 'POST', headers: { ...bearer(adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`creating key ${JSON.stringify(body)} answered ${res.status}: ${await res.text()}`);
  return res.json() as Promise<CreatedKey>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request through node:http, which (unlike fetch) lets a test set Host and send anything. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
