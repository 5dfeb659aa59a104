/**
 * A real Corral in this process (SQLite, worker processes, HTTP on a free
 * loopback port), with the bench models uploaded through the MLBuffet API and
 * loaded in every worker before any load is measured.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type CorralConfig } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/gateway/index.js';
import { inferBody, type BenchModel } from './models.js';

/**
 * `overrides` go to loadConfig (the queue section passes redisUrl and queuePrefix). Models
 * come from local files only: nothing is downloaded, so the bench stays on loopback.
 *
 * `auth` is CORRAL_AUTH: 'off' (the default here, loopback only) wherever auth is not what
 * is measured, so every section's plain requests are answered; the `auth` section starts
 * one gateway with 'on' and sends keys (the admin key is `server.newAdminKey`).
 */
export async function startBenchServer(
  home: string, corralEnv: Record<string, string>, overrides: Partial<CorralConfig> = {}, auth: 'on' | 'off' = 'off',
): Promise<{ server: RunningServer; config: CorralConfig }> {
  const config = loadConfig(
    { ...corralEnv, CORRAL_HOME: home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_AUTH: auth },
    { port: 0, host: '127.0.0.1', ...overrides },
  );
  const server = await startServer(config);
  return { server, config };
}

/** `Authorization: Bearer <key>`, or nothing for a gateway with CORRAL_AUTH=off. */
export const bearer = (key: string | undefined): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

/** `headers`: credentials for a gateway with auth on (models:write, e.g. the admin key). */
export async function uploadModel(url: string, model: BenchModel, headers: Record<string, string> = {}): Promise<void> {
  const form = new FormData();
  form.append('path', new Blob([readFileSync(model.path)]), `${model.name}.onnx`);
  const res = await fetch(`${url}/api/v1/models/${encodeURIComponent(model.name)}`, { method: 'PUT', body: form, headers });
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload of ${model.name} answered ${res.status}: ${await res.text()}`);
}

export const inferUrl = (url: string, model: BenchModel) => `${url}/v2/models/${encodeURIComponent(model.name)}/infer`;

async function inferOnce(url: string, model: BenchModel, headers: Record<string, string>): Promise<void> {
  const res = await fetch(inferUrl(url, model), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: inferBody(model) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`warm-up inference on ${model.name} answered ${res.status}: ${text}`);
  const outputs = (JSON.parse(text) as { outputs: { name: string }[] }).outputs.map((o) => o.name);
  if (model.outputs && outputs.join() !== model.outputs.join()) throw new Error(`${model.name} returned outputs [${outputs}], expected [${model.outputs}]`);
}

/**
 * Workers load models lazily, so concurrent requests are sent until every
 * worker reports the model loaded (workers report every 2 s). `headers`: an
 * infer credential when the gateway has auth on.
 */
export async function warmUp(server: RunningServer, model: BenchModel, timeoutMs = 30_000, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const workers = server.corral.dispatcher.workers().length;
  for (;;) {
    await Promise.all(Array.from({ length: workers * 4 }, () => inferOnce(server.url, model, headers)));
    const loaded = server.corral.dispatcher.workers().filter((w) => w.loadedModels.some((k) => k.startsWith(`${model.name}@`)));
    if (loaded.length === workers) return;
    if (Date.now() > deadline) throw new Error(`${model.name} loaded in ${loaded.length} of ${workers} workers after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until nothing is queued or running. Requests whose client hung up at
 * the end of a run are still computed, and would otherwise leak into the next
 * run (or be cut off by shutdown).
 */
export async function drain(server: RunningServer, models: BenchModel[], timeoutMs = 120_000): Promise<void> {
  const { inference, repository } = server.corral;
  await drainKeys(server, models.map((m) => inference.modelTarget(repository.get(m.name)).ref.key), timeoutMs);
}

/** drain() by batcher key: a model version (`name@version`) or a service (`service:<id>@<updated>`). */
export async function drainKeys(server: RunningServer, keys: string[], timeoutMs = 120_000): Promise<void> {
  const { dispatcher, inference } = server.corral;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const queued = keys.reduce((n, key) => n + inference.queueDepth(key), 0);
    const running = dispatcher.workers().reduce((n, w) => n + w.outstanding, 0);
    if (queued === 0 && running === 0) return;
    if (Date.now() > deadline) throw new Error(`server still busy after ${timeoutMs} ms (${queued} rows queued, ${running} batches running)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Experiment only: batches allowed in flight per model (InferenceDispatcher.capacity(),
 * one per worker in src). Patched on the running instance; src is untouched.
 */
export function overrideCapacity(server: RunningServer, capacity: number): void {
  server.corral.dispatcher.capacity = () => capacity;
}
