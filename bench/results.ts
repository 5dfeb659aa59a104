/** The shape of one benchmark run, as printed and as written to bench/results/latest.json. */
import type { BatchStats } from './corral-metrics.js';
import type { CpuReport } from './cpu-usage.js';
import type { HotFunction } from './gateway-profile.js';
import type { LoadResult } from './load-types.js';
import type { HttpRun } from './measure.js';
import type { Section } from './options.js';
import type { RawBaseline } from './raw-baseline.js';

/** Served throughput at c=64 should reach this share of the raw best-batch rows/s. */
export const TARGET_RATIO = 0.85;
export const TARGET_CONCURRENCY = 64;

export interface ServedRun {
  model: string;
  concurrency: number;
  load: LoadResult;
  batching: BatchStats;
  cpu: CpuReport;
  /** Gateway functions by self time (BENCH_PROFILE=1 only). */
  gatewayProfile?: { file: string; hot: HotFunction[] };
}

export interface ModelSummary {
  model: string;
  /** Concurrency the ratio is taken at (64, or the highest run when 64 was not run). */
  concurrency: number;
  servedRowsPerSec: number;
  rawBestRowsPerSec: number;
  rawBestBatch: number;
  ratio: number;
  meetsTarget: boolean;
  /**
   * Rows per CPU-second of the server (gateway + workers) at that concurrency over the raw
   * best rows per CPU-second: what the serving path costs in CPU, nearly immune to a busy
   * neighbour (which the rows/s ratio is not). The load generator's CPU is not counted.
   */
  cpuEfficiencyRatio: number;
}

/** A service as the embeddings, batching and OCR sections ran it. */
export interface ServiceDescription {
  name: string;
  runtime: string;
  model: string;
  replicas: number;
  maxBatchSize: number;
  describe: string;
}

export interface EmbeddingsSection {
  route: string;
  sentencesPerRequest: number;
  sentences: string[];
  services: ServiceDescription[];
  /** Per service, per concurrency; batch rows are sentences. */
  runs: HttpRun[];
}

export interface BatchingSection {
  concurrency: number;
  /** The default batching (server max_batch_size), then the same model with max_batch_size 1. */
  on: { service: ServiceDescription; run: HttpRun };
  off: { service: ServiceDescription; run: HttpRun };
  /** on/off req/s (> 1: batching helps). */
  throughputRatio: number;
  /** on/off p99 (< 1: batching lowers tail latency). */
  p99Ratio: number;
}

export interface OcrSection {
  route: string;
  image: { width: number; height: number; pngBytes: number; line: string };
  /** What the service read from the image during warm-up. */
  recognized: string;
  service: ServiceDescription;
  imagesPerRun: number;
  runs: HttpRun[];
}

export interface QueueSection {
  model: string;
  describe: string;
  redisUrl: string;
  prefix: string;
  /** The in-process gateway's worker processes vs the `corral worker` processes. */
  inProcessWorkers: { workers: number; threadsPerWorker: number };
  remoteWorkers: { workers: number; concurrency: number; threadsPerWorker: number; pids: number[] };
  inProcess: HttpRun[];
  /** Redis runs; `redisCommands` counts every command Redis processed in the measured window. */
  redis: (HttpRun & { redisCommands: number; redisCommandsPerRequest: number })[];
  /** Per concurrency: Redis / in-process. */
  ratios: { concurrency: number; throughputRatio: number; p99Ratio: number }[];
  /** Keys under the prefix deleted at the end. */
  redisKeysDeleted: number;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  /** The sections that ran (BENCH_SECTIONS). */
  sections: Section[];
  /** Sections that could not finish, with the reason (their numbers are missing). */
  failedSections: { section: Section; error: string }[];
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageAtStart: number };
  settings: { durationSec: number; warmupSec: number; rawSecPerBatch: number; rawThreads: number; quick: boolean; concurrencies: number[] };
  server: {
    workers: number; threadsPerWorker: number; maxBatchSize: number; maxQueueDelayMicroseconds: number;
    /** Batches in flight per model; overridden only by the BENCH_CAPACITY experiment. */
    capacity: number; capacityOverridden: boolean;
  };
  models: Record<string, string>;
  raw: RawBaseline[];
  runs: ServedRun[];
  summary: ModelSummary[];
  target: { ratio: number; concurrency: number; text: string };
  embeddings?: EmbeddingsSection;
  batching?: BatchingSection;
  ocr?: OcrSection;
  queue?: QueueSection;
  /** Why the run counts as a server failure (errors, non-2xx, worker restarts); empty when clean. */
  serverErrors: string[];
}

export function summarize(model: string, raw: RawBaseline, runs: ServedRun[]): ModelSummary | undefined {
  const own = runs.filter((r) => r.model === model);
  if (own.length === 0) return undefined;
  const at = own.find((r) => r.concurrency === TARGET_CONCURRENCY) ?? own.reduce((a, b) => (b.concurrency > a.concurrency ? b : a));
  // One row per request, so served rows/s is requests/s.
  const ratio = at.load.reqPerSec / raw.best.rowsPerSec;
  const servedPerCpuSec = at.load.ok / Math.max(1e-9, at.cpu.serverCpuSec);
  const rawPerCpuSec = Math.max(...raw.points.map((p) => p.rowsPerCpuSec));
  return {
    model, concurrency: at.concurrency, servedRowsPerSec: at.load.reqPerSec,
    rawBestRowsPerSec: raw.best.rowsPerSec, rawBestBatch: raw.best.batch, ratio, meetsTarget: ratio >= TARGET_RATIO,
    cpuEfficiencyRatio: servedPerCpuSec / rawPerCpuSec,
  };
}

export function serverErrorsOf(runs: ServedRun[]): string[] {
  const problems: string[] = [];
  for (const r of runs) {
    const where = `${r.model} c=${r.concurrency}`;
    if (r.load.errors > 0) problems.push(`${where}: ${r.load.errors} connection errors (${r.load.timeouts} timeouts)`);
    if (r.load.non2xx > 0) problems.push(`${where}: ${r.load.non2xx} non-2xx responses ${JSON.stringify(r.load.statusCodes)}`);
    if (r.batching.workerRestarts > 0) problems.push(`${where}: ${r.batching.workerRestarts} worker restarts`);
  }
  return problems;
}
