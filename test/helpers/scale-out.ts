/**
 * Scale-out test helpers: a gateway in Redis mode, `corral worker` processes
 * (spawned exactly as a user starts them), private redis-server instances, and
 * Redis key clean-up by prefix. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { CorralConfig } from '../../src/config/index.js';
import type { JobView } from '../../src/jobs/index.js';
import { postJson, startTestServer, uploadModel, type TestServer } from './test-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive, for the losing side of a race. */
const bound = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A fresh key prefix, so test files sharing a Redis server never meet. */
export const newPrefix = () => `corral-test-${randomBytes(5).toString('hex')}`;

/** Thrown inside a waitFor check to stop waiting at once. */
export class StopWaiting extends Error {}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** Deletes every Redis key under `prefix` (SCAN, not KEYS). */
export async function cleanRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Counts the Redis keys under `prefix`. */
export async function countRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    return n;
  } finally {
    redis.disconnect();
  }
}

/** A TCP port free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- gateway

export interface ScaleOutServerOptions {
  redisUrl: string;
  prefix: string;
  /** Other config overrides (host, maxQueuedJobs, jobAttempts, ...). */
  overrides?: Partial<CorralConfig>;
  /** Extra environment, e.g. { CORRAL_WEBHOOK_ALLOW_PRIVATE: '1' } for webhooks to a loopback receiver. */
  env?: Record<string, string>;
}

/** A real gateway whose inference and jobs go through BullMQ on Redis. */
export function startScaleOutServer({ redisUrl, prefix, overrides = {}, env = {} }: ScaleOutServerOptions): Promise<TestServer> {
  return startTestServer({ redisUrl, queuePrefix: prefix, lockDurationMs: 3000, jobAttempts: 3, ...overrides }, env);
}

// ---------------------------------------------------------------- worker processes

export interface WorkerProcess {
  id: string;
  child: ChildProcess;
  /** What the worker wrote to stderr (for failure messages). */
  stderr: () => string;
  /** Resolves once the process has exited. */
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnWorkerOptions {
  redisUrl: string;
  prefix: string;
  /** Gateway to wait on: the worker counts as started once GET /api/workers lists it. */
  gatewayUrl?: string;
  id?: string;
  services?: string[];
  concurrency?: number;
  readyTimeoutMs?: number;
}

const spawned = new Set<WorkerProcess>();
// Should a test process end without its after hooks, its worker processes end with it.
process.once('exit', () => { for (const w of spawned) w.child.kill('SIGKILL'); });

/** Starts `corral worker` as its own process (node --import tsx src/cli/main.ts worker ...). */
export async function spawnWorker(opts: SpawnWorkerOptions): Promise<WorkerProcess> {
  const id = opts.id ?? `w-${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'corral-worker-'));
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--redis', opts.redisUrl, '--id', id];
  if (opts.services?.length) args.push('--services', opts.services.join(','));
  if (opts.concurrency) args.push('--concurrency', String(opts.concurrency));
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CORRAL_HOME: home,
      CORRAL_QUEUE_PREFIX: opts.prefix,
      CORRAL_LOCK_MS: '3000',
      CORRAL_LOG_LEVEL: 'warn',
      CORRAL_ALLOW_REMOTE_MODELS: '0',
      CORRAL_REDIS_URL: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err = (err + c.toString('utf8')).slice(-20_000); });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const worker: WorkerProcess = {
    id, child, exited,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A SIGTERM'd worker closes its queues first; past the bound it is killed.
      const bounded = await Promise.race([exited.then(() => true), bound(15_000).then(() => false)]);
      if (!bounded) {
        child.kill('SIGKILL');
        await Promise.race([exited, bound(5_000)]);
      }
      spawned.delete(worker);
      rmSync(home, { recursive: true, force: true });
    },
  };
  spawned.add(worker);
  if (opts.gatewayUrl) {
    try {
      await waitForWorker(opts.gatewayUrl, id, opts.readyTimeoutMs ?? 45_000, () => child.exitCode !== null || child.signalCode !== null);
    } catch (e) {
      await worker.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\nworker stderr:\n${err}`);
    }
  }
  return worker;
}

/** Kills every worker process still running (for after hooks). */
export async function killAllWorkers(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...spawned].map((w) => w.kill(signal)));
}

export interface WorkerRow { id: string; pid: number; host?: string; services?: string[]; concurrency?: number; processed?: number; outstanding: number; state: string; lastSeen?: string }

export async function listWorkers(gatewayUrl: string): Promise<WorkerRow[]> {
  const res = await fetch(`${gatewayUrl}/api/workers`);
  if (res.status !== 200) throw new Error(`GET /api/workers: ${res.status} ${await res.text()}`);
  return (await res.json()) as WorkerRow[];
}

/** Waits until GET /api/workers lists the worker `id`. */
export async function waitForWorker(gatewayUrl: string, id: string, timeoutMs = 45_000, gaveUp: () => boolean = () => false): Promise<WorkerRow> {
  return waitFor(`worker '${id}' to appear in /api/workers`, async () => {
    if (gaveUp()) throw new StopWaiting(`worker '${id}' exited before it registered`);
    return (await listWorkers(gatewayUrl)).find((w) => w.id === id);
  }, timeoutMs, 200);
}

// ---------------------------------------------------------------- redis-server

export interface RedisServer {
  host: string;
  port: number;
  url: string;
  dir: string;
  /** Starts (or restarts) the server with the same settings and data dir. */
  start(): Promise<void>;
  /** Stops it: SIGKILL (a crash) or SIGTERM. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its data dir. */
  destroy(): Promise<void>;
}

/** A private redis-server on `host` and a free port, appendonly with fsync always (nothing acknowledged is lost). */
export async function startRedisServer(host = '127.0.0.1', extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'corral-redis-'));
  let child: ChildProcess | undefined;
  let log = '';
  const server: RedisServer = {
    host, port, url: `redis://${host}:${port}`, dir,
    async start() {
      const proc = spawn('redis-server', [
        '--port', String(port), '--bind', host, '--dir', dir, '--save', '',
        '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no', ...extraArgs,
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      proc.stdout!.on('data', (c: Buffer) => { log = (log + c.toString('utf8')).slice(-10_000); });
      proc.stderr!.on('data', (c: Buffer) => { log = (log + c.toString('utf8')).slice(-10_000); });
      await waitFor(`redis-server on ${host}:${port}`, async () => {
        if (proc.exitCode !== null) throw new StopWaiting(`redis-server exited: ${log}`);
        const probe = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          // Ready only once the append-only file is loaded back.
          return (await probe.ping()) === 'PONG' && !/loading:1/.test(await probe.info('persistence'));
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      }, 15_000, 50);
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      await Promise.race([exited, bound(10_000)]);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await Promise.race([exited, bound(5_000)]);
      }
    },
    async destroy() {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------- jobs API

export type { JobView };

export interface KServeResponse { model_name: string; outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> }

/** POST /api/jobs, retrying 429s (backpressure) within the bound; returns the accepted job. */
export async function submitJob(gatewayUrl: string, body: Record<string, unknown>, timeoutMs = 30_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await postJson(`${gatewayUrl}/api/jobs`, body);
    const text = await res.text();
    if (res.status === 202) return JSON.parse(text) as JobView;
    if (res.status !== 429 || Date.now() > deadline) throw new Error(`POST /api/jobs: ${res.status} ${text}`);
    await sleep(200);
  }
}

export async function getJob(gatewayUrl: string, id: string): Promise<{ status: number; job: JobView }> {
  const res = await fetch(`${gatewayUrl}/api/jobs/${id}`);
  return { status: res.status, job: (await res.json()) as JobView };
}

/** Polls GET /api/jobs/:id until the job is finished. */
export async function waitForJob(gatewayUrl: string, id: string, timeoutMs = 60_000): Promise<JobView> {
  return waitFor(`job ${id} to finish`, async () => {
    const { status, job } = await getJob(gatewayUrl, id);
    if (status !== 200) throw new Error(`GET /api/jobs/${id}: ${status} ${JSON.stringify(job)}`);
    return ['completed', 'failed', 'cancelled'].includes(job.state) ? job : undefined;
  }, timeoutMs, 150);
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** A KServe v2 infer body for iris, one row per measurement vector. */
export function irisBody(rows: number[][]): { inputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }> } {
  return { inputs: [{ name: 'float_input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] };
}

/** The `label` output of a KServe v2 response, as numbers. */
export function labelsOf(response: unknown): number[] {
  const out = (response as KServeResponse).outputs.find((o) => o.name === 'label');
  if (!out) throw new Error(`no label output in ${JSON.stringify(response).slice(0, 300)}`);
  return out.data.map(Number);
}

/** Polls GET /api/jobs/:id for many jobs at once (bounded parallelism) until all are finished. */
export async function waitForJobs(gatewayUrl: string, ids: readonly string[], timeoutMs = 120_000): Promise<Map<string, JobView>> {
  const done = new Map<string, JobView>();
  const deadline = Date.now() + timeoutMs;
  let pending = [...ids];
  while (pending.length > 0) {
    await mapLimit(pending, 24, async (id) => {
      const { status, job } = await getJob(gatewayUrl, id);
      if (status !== 200) throw new Error(`GET /api/jobs/${id}: ${status} ${JSON.stringify(job)}`);
      if (['completed', 'failed', 'cancelled'].includes(job.state)) done.set(id, job);
    });
    pending = pending.filter((id) => !done.has(id));
    if (pending.length === 0) break;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${pending.length} of ${ids.length} jobs unfinished, e.g. ${pending[0]}`);
    await sleep(300);
  }
  return done;
}

export interface SseEvent { event: string; data: JobView }

/** Reads GET /api/jobs/:id/events until the server ends the stream (the job finished) or the bound passes. */
export async function readJobEvents(gatewayUrl: string, id: string, timeoutMs = 60_000, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const res = await fetch(`${gatewayUrl}/api/jobs/${id}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`GET /api/jobs/${id}/events: ${res.status} ${await res.text()}`);
  if (!/text\/event-stream/.test(res.headers.get('content-type') ?? '')) throw new Error(`not an event stream: ${res.headers.get('content-type')}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      const parsed = { event, data: JSON.parse(data) as JobView };
      events.push(parsed);
      onEvent?.(parsed);
    }
  }
  return events;
}

/** Iris labels and class probabilities for every row of the data set, from a plain (in-process, no Redis) gateway in one request. */
export async function irisReference(rows: number[][]): Promise<{ labels: number[]; probabilities: number[][] }> {
  const plain = await startTestServer();
  try {
    const up = await uploadModel(plain.url, 'iris.onnx', plain.models.iris!);
    if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
    const res = await postJson(`${plain.url}/v2/models/iris.onnx/infer`, irisBody(rows));
    if (res.status !== 200) throw new Error(`reference infer: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as KServeResponse;
    const labels = labelsOf(body);
    const probs = body.outputs.find((o) => o.name === 'probabilities')!.data.map(Number);
    return { labels, probabilities: labels.map((_, i) => probs.slice(i * 3, i * 3 + 3)) };
  } finally {
    await plain.close();
  }
}
