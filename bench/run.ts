/**
 * `npm run bench`: serves the bench models from a real in-process Corral, loads
 * it with autocannon at several concurrencies, and compares the throughput with
 * onnxruntime-node run directly (the ceiling). Prints a table and writes
 * bench/results/latest.json. Exits 0 when the target is missed (it is a
 * report), 1 when the server failed requests, 2 when the bench could not run.
 *
 *   BENCH_QUICK=1 npm run bench         2 s runs, a smoke test
 *   BENCH_DURATION=15 npm run bench     seconds per run (default 8)
 *   BENCH_MODELS=encoder BENCH_CONCURRENCY=16,64 CORRAL_MAX_QUEUE_DELAY_US=2000 npm run bench
 *   CORRAL_WORKERS / CORRAL_THREADS_PER_WORKER / CORRAL_MAX_BATCH_SIZE are passed to the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CorralConfig } from '../src/config/index.js';
import type { RunningServer } from '../src/gateway/index.js';
import { drain, inferUrl, overrideCapacity, startBenchServer, uploadModel, warmUp } from './bench-server.js';
import { batchStatsBetween, scrapeMetrics, type Scrape } from './corral-metrics.js';
import { cpuBetween, cpuSnapshot, type CpuSnapshot } from './cpu-usage.js';
import { GatewayProfiler } from './gateway-profile.js';
import { inferBody, writeBenchModels, type BenchModel } from './models.js';
import { parseOptions, type BenchOptions } from './options.js';
import { mergePasses, rawBaseline, type RawBaseline } from './raw-baseline.js';
import { formatReport, writeResults } from './report.js';
import { serverErrorsOf, summarize, TARGET_CONCURRENCY, TARGET_RATIO, type BenchResults, type ModelSummary, type ServedRun } from './results.js';
import { runLoad } from './serve-load.js';

const log = (line: string) => console.log(`[bench] ${line}`);

const workerPids = (server: RunningServer) =>
  Object.fromEntries(server.corral.dispatcher.workers().map((w) => [w.id, w.pid]));

/** One autocannon run; CPU and /metrics are sampled around the measured window only. */
async function servedRun(server: RunningServer, model: BenchModel, concurrency: number, options: BenchOptions): Promise<ServedRun> {
  let cpuBefore: CpuSnapshot | undefined;
  let cpuAfter: CpuSnapshot | undefined;
  let metricsBefore: Promise<Scrape> | undefined;
  const profiler = options.profile ? new GatewayProfiler() : undefined;
  let profiling: Promise<void> | undefined;
  const load = await runLoad(
    { url: inferUrl(server.url, model), body: inferBody(model), connections: concurrency, durationSec: options.durationSec, warmupSec: options.warmupSec },
    {
      onMeasuring: () => {
        cpuBefore = cpuSnapshot(workerPids(server));
        metricsBefore = scrapeMetrics(server.url);
        profiling = profiler?.start();
      },
      onMeasured: () => (cpuAfter = cpuSnapshot(workerPids(server))),
    },
  );
  let gatewayProfile: ServedRun['gatewayProfile'];
  if (profiler) {
    await profiling;
    const file = join(dirname(options.resultsPath), `profile-${model.name}-c${concurrency}.cpuprofile`);
    gatewayProfile = { file, hot: await profiler.stop(file) };
  }
  const metricsAfter = await scrapeMetrics(server.url);
  if (!cpuBefore || !cpuAfter || !metricsBefore) throw new Error('load client did not report its measured window');
  const batching = batchStatsBetween(await metricsBefore, metricsAfter, model.name);
  await drain(server, [model]);
  return {
    model: model.name, concurrency, load, batching, cpu: cpuBetween(cpuBefore, cpuAfter, load.clientCpuSec),
    ...(gatewayProfile ? { gatewayProfile } : {}),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg()[0]!;
  const home = mkdtempSync(join(tmpdir(), 'corral-bench-'));
  let server: RunningServer | undefined;
  let models: BenchModel[] = [];
  const stop = async () => {
    const s = server;
    server = undefined;
    if (s) {
      await drain(s, models).catch((err: unknown) => log(`not drained before shutdown: ${(err as Error).message}`));
      await s.close();
    }
    rmSync(home, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));

  try {
    models = writeBenchModels(join(home, 'fixtures')).filter((m) => !options.models || options.models.includes(m.name));
    if (models.length === 0) throw new Error(`BENCH_MODELS matched no model (have iris, encoder)`);

    const started = await startBenchServer(home, options.corralEnv);
    server = started.server;
    const config: CorralConfig = started.config;
    if (options.capacity !== undefined) overrideCapacity(server, options.capacity);
    const capacity = server.corral.dispatcher.capacity();
    log(`server ${server.url}: workers=${config.workers} threadsPerWorker=${config.threadsPerWorker} maxBatchSize=${config.batching.maxBatchSize} maxQueueDelayMicroseconds=${config.batching.maxQueueDelayMicroseconds} capacity=${capacity}`);
    log(`load average at start: ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores`);
    for (const model of models) {
      await uploadModel(server.url, model);
      await warmUp(server, model);
      await drain(server, [model]);
      log(`uploaded and warmed up ${model.name} in every worker`);
    }

    // Per model: the ceiling, the served runs, the ceiling again. Each raw batch size keeps its
    // better pass, so a neighbour's burst during one pass does not lower the ceiling.
    const raw: RawBaseline[] = [];
    const runs: ServedRun[] = [];
    const rawPass = async (model: BenchModel, pass: number) => {
      log(`raw baseline ${model.name} (pass ${pass}): batches ${options.rawBatchSizes.join(', ')}, ${options.rawSecPerBatch} s each, intraOpNumThreads=${options.rawThreads}`);
      const r = await rawBaseline(model, { threads: options.rawThreads, batchSizes: options.rawBatchSizes, seconds: options.rawSecPerBatch });
      for (const p of r.points) log(`  b=${p.batch}: ${p.rowsPerSec.toFixed(1)} rows/s (${p.msPerRun.toFixed(2)} ms/run), other cpu ${p.otherPct ?? '?'}%`);
      return r;
    };
    for (const model of models) {
      const before = await rawPass(model, 1);
      for (const concurrency of options.concurrencies) {
        const run = await servedRun(server, model, concurrency, options);
        runs.push(run);
        const { load, batching, cpu } = run;
        log(`${model.name} c=${concurrency}: ${load.reqPerSec.toFixed(1)} req/s, p50 ${load.latencyMs.p50.toFixed(2)} ms, p99 ${load.latencyMs.p99.toFixed(2)} ms, errors ${load.errors}, non-2xx ${load.non2xx}, mean batch ${batching.meanBatchRows.toFixed(2)}, other cpu ${cpu.otherPct ?? '?'}%`);
      }
      raw.push(mergePasses([before, await rawPass(model, 2)]));
    }

    await stop();
    log('server drained and shut down');

    const results: BenchResults = {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version,
        platform: `${process.platform}-${process.arch}`, loadAverageAtStart,
      },
      settings: {
        durationSec: options.durationSec, warmupSec: options.warmupSec, rawSecPerBatch: options.rawSecPerBatch,
        rawThreads: options.rawThreads, quick: options.quick, concurrencies: options.concurrencies,
      },
      server: {
        workers: config.workers, threadsPerWorker: config.threadsPerWorker, capacity, capacityOverridden: options.capacity !== undefined,
        maxBatchSize: config.batching.maxBatchSize, maxQueueDelayMicroseconds: config.batching.maxQueueDelayMicroseconds,
      },
      models: Object.fromEntries(models.map((m) => [m.name, m.describe])),
      raw,
      runs,
      summary: raw.map((r) => summarize(r.model, r, runs)).filter((s): s is ModelSummary => s !== undefined),
      target: { ratio: TARGET_RATIO, concurrency: TARGET_CONCURRENCY, text: 'served at c=64 >= 85% of raw best-batch' },
      serverErrors: serverErrorsOf(runs),
    };
    console.log(`\n${formatReport(results)}\n`);
    writeResults(options.resultsPath, results);
    log(`results written to ${options.resultsPath}`);
    return results.serverErrors.length > 0 ? 1 : 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('[bench] failed:', err);
    process.exit(2);
  },
);
