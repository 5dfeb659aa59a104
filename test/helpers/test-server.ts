/**
 * Starts a real Corral (SQLite, worker processes, HTTP on a free loopback port)
 * in a fresh temporary CORRAL_HOME, and removes it on close.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { loadConfig, type CorralConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/gateway/index.js';
import { writeFixtureModels } from '../fixtures/index.js';

export interface TestServer extends RunningServer {
  home: string;
  /** The admin key made at first start (auth on), else undefined. */
  adminKey?: string;
  /** Paths of the fixture models (iris, cnn, encoder, fixed-batch, multi-input). */
  models: Record<string, string>;
}

/**
 * Suites about models, services and jobs run with CORRAL_AUTH=off (allowed on
 * loopback); the auth suites pass `env: { CORRAL_AUTH: 'on' }` and use the key
 * in `adminKey`.
 */
export async function startTestServer(overrides: Partial<CorralConfig> = {}, env: Record<string, string> = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), 'corral-test-'));
  const models = writeFixtureModels(join(home, 'fixtures'));
  // CORRAL_UI_DIR passes through: the UI suites build the app into a directory of their own (test/ui/browser.ts).
  const config = loadConfig({ CORRAL_HOME: home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_AUTH: 'off', CORRAL_UI_DIR: process.env.CORRAL_UI_DIR, ...env }, { host: '127.0.0.1', port: 0, workers: 2, threadsPerWorker: 1, ...overrides });
  const server = await startServer(config);
  return {
    ...server, home, models, adminKey: server.newAdminKey,
    async close() {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** `Authorization: Bearer <key>` when a key is given (auth on), else nothing. */
const bearer = (key?: string): Record<string, string> => (key === undefined ? {} : { authorization: `Bearer ${key}` });

/** Uploads a model file through the MLBuffet API (multipart field `path`), returning the response; `key` is the API key to send. */
export async function uploadModel(url: string, name: string, path: string, key?: string): Promise<Response> {
  const form = new FormData();
  form.append('path', new Blob([readFileSync(path)]), 'model.onnx');
  return fetch(`${url}/api/v1/models/${encodeURIComponent(name)}`, { method: 'PUT', body: form, headers: bearer(key) });
}

export async function postJson(url: string, body: unknown, method = 'POST', key?: string): Promise<Response> {
  return fetch(url, { method, headers: { 'content-type': 'application/json', ...bearer(key) }, body: JSON.stringify(body) });
}

/** GET with a JSON body, as MLBuffet's docs send it (fetch refuses GET bodies, node:http does not). */
export function getWithJsonBody(url: string, body: unknown, key?: string): Promise<{ status: number; json: unknown }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': payload.length, ...bearer(key) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
