/**
 * Services for the embeddings, batching and OCR sections: a transformers
 * feature-extraction service over the tiny BERT test fixture (created through
 * POST /api/services?wait=true, as a user would), the built-in `embed` and
 * `ocr` services, their request bodies, and a warm-up that waits until the
 * model is loaded in the workers that will serve it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/gateway/index.js';
import { serviceTarget } from '../src/services/service-target.js';
import { TINY_BERT_HIDDEN, TINY_BERT_MAX_LENGTH, writeTinyBert } from '../test/fixtures/transformers/index.js';
import { renderTextImage } from '../test/fixtures/text-image.js';

/** English sentences; a request of n sentences takes the first n (cycling). */
export const SENTENCES = [
  'The sun rises in the east and sets in the west.',
  'John lives in Paris and works for Google.',
  'I love this movie, it is really great fun.',
  'Cats are curious animals who like to play.',
] as const;

export const sentences = (n: number) => Array.from({ length: n }, (_, i) => SENTENCES[i % SENTENCES.length]!);

/** POST /v1/embeddings body (OpenAI): `model` is the service name. */
export const embeddingsBody = (service: string, n: number) => JSON.stringify({ model: service, input: sentences(n) });

/** Writes the tiny BERT feature-extraction checkpoint (the fixture has no size options). */
export function writeBertModel(dir: string): { dir: string; describe: string } {
  writeTinyBert(dir, { task: 'feature-extraction' });
  return {
    dir,
    describe: `tiny random BERT test fixture (hidden=${TINY_BERT_HIDDEN}, 1 layer, 2 heads, max ${TINY_BERT_MAX_LENGTH} tokens; writeTinyBert has no size options), transformers.js`,
  };
}

export interface ServiceInfo {
  id: string;
  name: string;
  runtime: string;
  model: string;
  replicas: number;
  /** Effective max_batch_size (the service's own, else the server default). */
  maxBatchSize: number;
}

interface ServiceView {
  id: string;
  name: string;
  status: string;
  reason?: string | null;
}

/** POST /api/services?wait=true; throws unless the service came up RUNNING. */
export async function createService(server: RunningServer, body: Record<string, unknown>): Promise<ServiceInfo> {
  const res = await fetch(`${server.url}/api/services?wait=true`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/services ${JSON.stringify(body)} answered ${res.status}: ${text}`);
  const view = JSON.parse(text) as ServiceView;
  if (view.status !== 'RUNNING') throw new Error(`service ${view.name} is ${view.status}: ${view.reason ?? 'no reason given'}`);
  return serviceInfo(server, view.name);
}

/** What the bench reports about a service, from the running gateway. */
export function serviceInfo(server: RunningServer, name: string): ServiceInfo {
  const s = server.corral.services.get(name);
  return {
    id: s.id, name: s.name, runtime: s.runtime, model: s.model, replicas: s.replicas,
    maxBatchSize: s.batching.maxBatchSize ?? server.corral.config.batching.maxBatchSize,
  };
}

/** The service's batcher key, for drainKeys(); it changes when the service is updated. */
export function serviceKey(server: RunningServer, name: string): string {
  return serviceTarget(server.corral.services.get(name), server.corral.config.batching).ref.key;
}

async function post(url: string, init: RequestInit, check: (status: number, text: string) => void): Promise<void> {
  const res = await fetch(url, init);
  check(res.status, await res.text());
}

/** One /v1/embeddings request, checked: 200 and one vector per sentence. */
export function embedOnce(server: RunningServer, service: string, n: number): Promise<void> {
  return post(`${server.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: embeddingsBody(service, n) }, (status, text) => {
    if (status !== 200) throw new Error(`POST /v1/embeddings (${service}) answered ${status}: ${text}`);
    const data = (JSON.parse(text) as { data: { embedding: number[] }[] }).data;
    if (data.length !== n || !(data[0]!.embedding.length > 0)) throw new Error(`POST /v1/embeddings (${service}) returned ${data.length} vectors for ${n} sentences`);
  });
}

/**
 * Sends rounds of `perRound` concurrent requests until the service's model is
 * loaded in `wantWorkers` workers (workers load lazily and report every 2 s).
 */
export async function warmService(server: RunningServer, name: string, send: () => Promise<void>, wantWorkers: number, perRound = 8, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const prefix = `service:${server.corral.services.get(name).id}@`;
  for (;;) {
    await Promise.all(Array.from({ length: perRound }, send));
    const loaded = server.corral.dispatcher.workers().filter((w) => w.loadedModels.some((k) => k.startsWith(prefix))).length;
    if (loaded >= wantWorkers) return loaded;
    if (Date.now() > deadline) throw new Error(`service ${name} loaded in ${loaded} of ${wantWorkers} workers after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---------------------------------------------------------------- OCR

export const OCR_LINE = 'Corral OCR benchmark 2026';
const BOUNDARY = '----corral-bench-ocr-boundary';

export interface OcrUpload {
  /** File holding the multipart body (the load client reads it). */
  bodyFile: string;
  headers: Record<string, string>;
  width: number;
  height: number;
  pngBytes: number;
}

/** An 800x200 PNG of one line of text, as a multipart body with the image in field `file`. */
export async function writeOcrUpload(dir: string): Promise<OcrUpload & { body: Buffer }> {
  const width = 800;
  const height = 200;
  const png = await renderTextImage([OCR_LINE], { width, height, fontSize: 48 });
  const body = Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="line.png"\r\nContent-Type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
  const bodyFile = join(dir, 'ocr-upload.bin');
  writeFileSync(bodyFile, body);
  return { bodyFile, body, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, width, height, pngBytes: png.length };
}

/** One POST /ocr; returns the recognised text. */
export async function ocrOnce(server: RunningServer, upload: OcrUpload & { body: Buffer }): Promise<string> {
  const res = await fetch(`${server.url}/ocr`, { method: 'POST', headers: upload.headers, body: upload.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /ocr answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { text: string }).text;
}
