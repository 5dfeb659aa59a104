/**
 * One measured HTTP load against any Corral route (the sections beyond KServe):
 * autocannon in a child process, with CPU (gateway, listed processes, the rest
 * of the machine) and /metrics batch statistics taken around the measured
 * window only, then a drain so the next run starts idle.
 */
import { batchStatsBetween, scrapeMetrics, type BatchStats, type Scrape } from './corral-metrics.js';
import { cpuBetween, cpuSnapshot, type CpuReport, type CpuSnapshot } from './cpu-usage.js';
import type { LoadResult, LoadSpec } from './load-types.js';
import { runLoad } from './serve-load.js';

export interface HttpRun {
  /** Service or model name: the `model` label of corral_batch_size. */
  target: string;
  concurrency: number;
  load: LoadResult;
  /** Batches as the gateway formed them (rows are texts, tensor rows, or images). */
  batching: BatchStats;
  /** `workersPct` holds every process listed by `pids` (workers, model processes, redis-server). */
  cpu: CpuReport;
}

export interface MeasureOptions {
  gatewayUrl: string;
  target: string;
  spec: LoadSpec;
  /** Processes other than this one whose CPU the run accounts for, by a readable id. */
  pids: () => Record<string, number | undefined>;
  /** Waits until the server is idle again. */
  drain: () => Promise<void>;
  /** Credentials for the bench's own calls to the gateway (GET /metrics) when it has auth on. */
  gatewayHeaders?: Record<string, string>;
  /** Called at the start and end of the measured window (e.g. to read Redis counters). */
  window?: { start: () => Promise<void>; end: () => Promise<void> };
}

export async function measure(o: MeasureOptions): Promise<HttpRun> {
  let cpuBefore: CpuSnapshot | undefined;
  let cpuAfter: CpuSnapshot | undefined;
  let metricsBefore: Promise<Scrape> | undefined;
  let windowStart: Promise<void> | undefined;
  let windowEnd: Promise<void> | undefined;
  // Each promise gets a no-op handler at once (no unhandled rejection while the load runs);
  // awaiting it below still throws its error.
  const load = await runLoad(o.spec, {
    onMeasuring: () => {
      cpuBefore = cpuSnapshot(o.pids());
      metricsBefore = scrapeMetrics(o.gatewayUrl, o.gatewayHeaders);
      metricsBefore.catch(() => undefined);
      if (o.window) windowStart = o.window.start();
      windowStart?.catch(() => undefined);
    },
    onMeasured: () => {
      cpuAfter = cpuSnapshot(o.pids());
      if (o.window) windowEnd = o.window.end();
      windowEnd?.catch(() => undefined);
    },
  });
  const metricsAfter = await scrapeMetrics(o.gatewayUrl, o.gatewayHeaders);
  if (!cpuBefore || !cpuAfter || !metricsBefore) throw new Error('load client did not report its measured window');
  await windowStart;
  await windowEnd;
  const batching = batchStatsBetween(await metricsBefore, metricsAfter, o.target);
  await o.drain();
  return { target: o.target, concurrency: o.spec.connections, load, batching, cpu: cpuBetween(cpuBefore, cpuAfter, load.clientCpuSec) };
}

/** Why a run counts as a server failure (connection errors, non-2xx, worker restarts). */
export function runProblems(where: string, run: Pick<HttpRun, 'load' | 'batching'>): string[] {
  const problems: string[] = [];
  if (run.load.errors > 0) problems.push(`${where}: ${run.load.errors} connection errors (${run.load.timeouts} timeouts)`);
  if (run.load.non2xx > 0) problems.push(`${where}: ${run.load.non2xx} non-2xx responses ${JSON.stringify(run.load.statusCodes)}`);
  if (run.batching.workerRestarts > 0) problems.push(`${where}: ${run.batching.workerRestarts} worker restarts`);
  return problems;
}

export const describeRun = (run: HttpRun) =>
  `${run.load.reqPerSec.toFixed(1)} req/s, p50 ${run.load.latencyMs.p50.toFixed(2)} ms, p99 ${run.load.latencyMs.p99.toFixed(2)} ms, ` +
  `errors ${run.load.errors}, non-2xx ${run.load.non2xx}, mean batch ${run.batching.meanBatchRows.toFixed(2)}, other cpu ${run.cpu.otherPct ?? '?'}%`;
