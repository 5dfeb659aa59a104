/** The shape of one benchmark run, as printed and as written to bench/results/latest.json. */
import type { BatchStats } from './corral-metrics.js';
import type { CpuReport } from './cpu-usage.js';
import type { HotFunction } from './gateway-profile.js';
import type { LoadResult } from './load-types.js';
import type { Attribution } from './profile-attribution.js';
import type { HttpRun } from './measure.js';
import type { BinarySection } from './kserve-binary-bench.js';
import type { VarlenSection } from './varlen-bench.js';
import type { FootprintSection } from './footprint-bench.js';
import type { KeytermsQualitySection } from './keyterms-quality-bench.js';
import type { OcrAccuracySection } from './ocr-accuracy-bench.js';
import type { SummaryRow } from './summary.js';
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

export interface GenerationRun {
  concurrency: number;
  /** The measured window, s. */
  durationSec: number;
  /** 200 answers that finished in the window, and the others. */
  requests: number;
  failed: number;
  /** completion_tokens summed over those answers. */
  tokens: number;
  tokensPerSec: number;
  latencyMs: { p50: number; p99: number };
  /** corral_batch_size of the window: generation requests per generate() call. */
  meanBatchRows: number;
  /** Mean time from a batch's dispatch to its result (corral_inference_duration_seconds), ms. */
  meanBatchMs: number;
}

export interface GenerationSection {
  route: string;
  service: ServiceDescription;
  maxTokens: number;
  prompts: string[];
  /** c=1, then c=8. */
  runs: GenerationRun[];
  /** Last run's tokens/s over the first's (batching makes it > 1). */
  tokensPerSecRatio: number;
  targetRatio: number;
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

/** The auth section's target: auth on costs at most this share of the auth-off throughput. */
export const AUTH_MAX_COST = 0.05;

/** One measured run of the auth section. */
export interface AuthRun extends HttpRun {
  /** CORRAL_AUTH of the gateway it ran against. */
  auth: 'on' | 'off';
  /** 1-based; within a round the order alternates (on, off / off, on / ...). */
  round: number;
  /** Gateway CPU (this process) per answered request, µs: where the auth hook's cost shows. */
  gatewayCpuUsPerRequest: number;
  /** Gateway + worker CPU per answered request, µs. */
  serverCpuUsPerRequest: number;
  /**
   * corral_key_requests_total of the scoped key around the run (warm-up and measured
   * requests), per status; auth on only.
   */
  keyRequests?: Record<string, number>;
  /**
   * BENCH_PROFILE=1: the gateway process's functions by self time over the measured window,
   * and the inclusive time under the auth code (AUTH_CODE: the hook and src/auth).
   */
  profile?: { file: string; hot: HotFunction[]; authCode: Attribution };
}

/** Medians over one mode's runs. */
export interface AuthModeSummary {
  runs: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  gatewayCpuUsPerRequest: number;
  serverCpuUsPerRequest: number;
}

export interface AuthSection {
  model: string;
  describe: string;
  route: string;
  concurrency: number;
  requestsPerRun: number;
  warmupRequestsPerRun: number;
  maxSecPerRun: number;
  rounds: number;
  /** Both gateways: same settings but CORRAL_AUTH, each with its own CORRAL_HOME. */
  gateways: { workers: number; threadsPerWorker: number; maxBatchSize: number };
  /** The key the auth-on runs send (as created with POST /api/keys). */
  key: { name: string; scopes: string[]; models: string[]; rateLimit: { requests_per_minute: number; burst: number; concurrency: number } };
  /** What was checked on the auth-on gateway before measuring (each expected status was answered). */
  checks: { what: string; expected: number; got: number }[];
  /** In the order they ran. */
  runs: AuthRun[];
  on: AuthModeSummary;
  off: AuthModeSummary;
  /** median on req/s / median off req/s. */
  ratio: number;
  /** 1 - ratio: the share of throughput auth costs (negative: on was faster). */
  cost: number;
  /** Median of the per-round on/off ratios (each pair ran back to back). */
  pairedRatio: number;
  /**
   * Median gateway CPU per request, off / on: the throughput ratio to expect while the
   * gateway's event loop is the bottleneck; less sensitive to a busy neighbour than req/s.
   */
  gatewayCpuRatio: number;
  maxCost: number;
  meetsTarget: boolean;
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
  generation?: GenerationSection;
  queue?: QueueSection;
  auth?: AuthSection;
  /** Section `binary`: Triton binary tensors vs JSON on the KServe route. */
  binary?: BinarySection;
  /** Section `varlen`: mixed sequence lengths in padded batches vs every request at the mean length. */
  varlen?: VarlenSection;
  /** Section `footprint`: startup time and idle resident memory of a default `corral start`. */
  footprint?: FootprintSection;
  /** Section `ocr-accuracy`: character error rate and time of each OCR engine on the evaluation set. */
  ocrAccuracy?: OcrAccuracySection;
  /** Section `keyterms-quality`: F1@5 on the labelled paragraphs. */
  keytermsQuality?: KeytermsQualitySection;
  /** The judged ratio of every section that ran, with its target (the report's closing table). */
  summaryTable: SummaryRow[];
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
