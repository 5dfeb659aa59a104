/**
 * Section `queue`: the encoder through KServe v2 infer, first on the shared
 * in-process gateway (batches go to its worker processes over IPC), then on a
 * gateway in Redis mode whose batches become BullMQ jobs taken by two
 * `corral worker` processes. Same model, same threads per model process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drain, inferUrl, startBenchServer, uploadModel, warmUp } from './bench-server.js';
import type { BenchContext } from './context.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure, type HttpRun } from './measure.js';
import { inferBody } from './models.js';
import { BENCH_REDIS_URL } from './options.js';
import { childPids, deleteRedisKeys, pingRedis, redisCounters, spawnCorralWorker, stopWorker, type SpawnedWorker } from './redis-workers.js';
import type { QueueSection } from './results.js';

const REMOTE_WORKERS = 2;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function queueSection(ctx: BenchContext): Promise<QueueSection> {
  const { options, log, cleanup } = ctx;
  const model = ctx.models.find((m) => m.name === 'encoder')!;
  const redisUrl = BENCH_REDIS_URL;
  await pingRedis(redisUrl);

  // (a) the default in-process gateway.
  await ctx.ensureModel(model);
  const { server: local, config } = await ctx.shared();
  const inProcess: HttpRun[] = [];
  for (const concurrency of options.queueConcurrencies) {
    const run = await measure({
      gatewayUrl: local.url, target: model.name,
      spec: { url: inferUrl(local.url, model), body: inferBody(model), connections: concurrency, durationSec: options.durationSec, warmupSec: options.warmupSec },
      pids: () => workerPids(local),
      drain: () => drain(local, [model]),
    });
    inProcess.push(run);
    log(`queue in-process ${model.name} c=${concurrency}: ${describeRun(run)}`);
  }
  // Its idle workers would only blur the CPU picture of the Redis runs.
  await ctx.stopShared();

  // (b) a gateway in Redis mode and two `corral worker` processes sharing its CORRAL_HOME.
  const prefix = `corral-bench-${randomBytes(5).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'corral-bench-redis-'));
  const removeHome = cleanup.add('remove the Redis gateway home', () => rmSync(home, { recursive: true, force: true }));
  let keysDeleted = 0;
  const deleteKeys = cleanup.add(`delete Redis keys ${prefix}:*`, async () => {
    keysDeleted = await deleteRedisKeys(redisUrl, prefix);
    log(`deleted ${keysDeleted} Redis keys under ${prefix}:`);
  });
  const { server } = await startBenchServer(home, options.corralEnv, { redisUrl, queuePrefix: prefix });
  const closeGateway = cleanup.add('stop the Redis gateway', async () => {
    await drain(server, [model], 30_000).catch((err: unknown) => log(`Redis gateway not drained before shutdown: ${(err as Error).message}`));
    await server.close();
    log('Redis gateway shut down');
  });
  log(`Redis gateway ${server.url}, queue prefix ${prefix}, CORRAL_HOME ${home}`);
  await uploadModel(server.url, model);

  const threads = config.threadsPerWorker;
  const workers: SpawnedWorker[] = [];
  const stops: (() => Promise<void>)[] = [];
  for (let i = 0; i < REMOTE_WORKERS; i++) {
    const w = spawnCorralWorker({ redisUrl, prefix, home, threads, concurrency: options.queueWorkerConcurrency });
    workers.push(w);
    stops.push(cleanup.add(`stop corral worker ${w.pid}`, () => stopWorker(w)));
  }
  log(`spawned corral worker pids ${workers.map((w) => w.pid).join(', ')} (--concurrency ${options.queueWorkerConcurrency}, ${threads} thread(s) each)`);
  await waitForWorkers(server.url, workers, 90_000);
  log('GET /api/workers lists both workers');
  await warmUp(server, model, 120_000);
  await drain(server, [model]);
  log(`${model.name} loaded in both corral workers`);

  const processPids = () => {
    const pids: Record<string, number | undefined> = {};
    workers.forEach((w, i) => {
      pids[`w${i + 1}`] = w.pid;
      // Its model process (src/workers/worker-main.ts), and anything else it started (esbuild for tsx).
      for (const child of childPids(w.pid)) pids[isModelProcess(child) ? `w${i + 1}-model` : `w${i + 1}-child-${child}`] = child;
    });
    pids.redis = redisPid;
    return pids;
  };
  const redisPid = (await redisCounters(redisUrl)).pid;
  const redis: QueueSection['redis'] = [];
  for (const concurrency of options.queueConcurrencies) {
    let before = 0;
    let after = 0;
    const run = await measure({
      gatewayUrl: server.url, target: model.name,
      spec: { url: inferUrl(server.url, model), body: inferBody(model), connections: concurrency, durationSec: options.durationSec, warmupSec: options.warmupSec },
      pids: processPids,
      drain: () => drain(server, [model]),
      window: {
        start: async () => void (before = (await redisCounters(redisUrl)).commands),
        end: async () => void (after = (await redisCounters(redisUrl)).commands),
      },
    });
    const redisCommands = after - before;
    redis.push({ ...run, redisCommands, redisCommandsPerRequest: redisCommands / Math.max(1, run.load.requests) });
    log(`queue Redis ${model.name} c=${concurrency}: ${describeRun(run)}, ${(redisCommands / Math.max(1, run.load.requests)).toFixed(1)} Redis commands/request`);
  }

  // Workers first (no job is left running), then the gateway, then the keys.
  for (const stop of stops) await stop();
  log(`corral workers stopped`);
  await closeGateway();
  await deleteKeys();
  await removeHome();

  return {
    model: model.name, describe: model.describe, redisUrl, prefix,
    inProcessWorkers: { workers: config.workers, threadsPerWorker: config.threadsPerWorker },
    remoteWorkers: { workers: REMOTE_WORKERS, concurrency: options.queueWorkerConcurrency, threadsPerWorker: threads, pids: workers.map((w) => w.pid) },
    inProcess,
    redis,
    ratios: options.queueConcurrencies.map((concurrency) => {
      const a = inProcess.find((r) => r.concurrency === concurrency)!;
      const b = redis.find((r) => r.concurrency === concurrency)!;
      return { concurrency, throughputRatio: b.load.reqPerSec / a.load.reqPerSec, p99Ratio: b.load.latencyMs.p99 / a.load.latencyMs.p99 };
    }),
    redisKeysDeleted: keysDeleted,
  };
}

function isModelProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-main');
  } catch {
    return false;
  }
}

/** Until GET /api/workers lists every spawned worker (by pid); fails early if one exits. */
async function waitForWorkers(url: string, workers: SpawnedWorker[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
    if (dead) throw new Error(`corral worker ${dead.pid} exited (${dead.child.exitCode ?? dead.child.signalCode}): ${dead.stderr().trim() || 'no output'}`);
    const res = await fetch(`${url}/api/workers`).catch(() => undefined);
    const listed = res?.ok ? ((await res.json()) as { pid: number }[]).map((w) => w.pid) : [];
    if (workers.every((w) => listed.includes(w.pid))) return;
    if (Date.now() > deadline) {
      throw new Error(`GET /api/workers listed pids [${listed.join(', ')}] after ${timeoutMs} ms, expected ${workers.map((w) => w.pid).join(', ')}; stderr: ${workers.map((w) => w.stderr().trim()).join(' | ')}`);
    }
    await sleep(250);
  }
}
