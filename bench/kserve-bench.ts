/**
 * Section `kserve` (the original benchmark): raw ONNX models served through
 * POST /v2/models/<name>/infer at several concurrencies, against the same model
 * run in this process with onnxruntime-node (the ceiling).
 */
import { dirname, join } from 'node:path';
import type { RunningServer } from '../src/gateway/index.js';
import { drain, inferUrl } from './bench-server.js';
import type { BenchContext } from './context.js';
import { batchStatsBetween, scrapeMetrics, type Scrape } from './corral-metrics.js';
import { cpuBetween, cpuSnapshot, type CpuSnapshot } from './cpu-usage.js';
import { GatewayProfiler } from './gateway-profile.js';
import { inferBody, type BenchModel } from './models.js';
import type { BenchOptions } from './options.js';
import { mergePasses, rawBaseline, type RawBaseline } from './raw-baseline.js';
import { summarize, type ModelSummary, type ServedRun } from './results.js';
import { runLoad } from './serve-load.js';

export const workerPids = (server: RunningServer) =>
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

export interface KserveSection {
  models: BenchModel[];
  raw: RawBaseline[];
  runs: ServedRun[];
  summary: ModelSummary[];
}

export async function kserveSection(ctx: BenchContext): Promise<KserveSection> {
  const { options, log } = ctx;
  const models = ctx.models.filter((m) => !options.models || options.models.includes(m.name));
  if (models.length === 0) throw new Error(`BENCH_MODELS matched no model (have ${ctx.models.map((m) => m.name).join(', ')})`);
  const { server } = await ctx.shared();
  for (const model of models) await ctx.ensureModel(model);

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
  return { models, raw, runs, summary: raw.map((r) => summarize(r.model, r, runs)).filter((s): s is ModelSummary => s !== undefined) };
}
