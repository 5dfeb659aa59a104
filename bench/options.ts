/**
 * Benchmark settings from the environment and argv. Corral's own knobs
 * (CORRAL_WORKERS, CORRAL_THREADS_PER_WORKER, CORRAL_MAX_BATCH_SIZE,
 * CORRAL_MAX_QUEUE_DELAY_US, ...) pass straight through to loadConfig().
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface BenchOptions {
  /** Seconds of measured load per (model, concurrency) run. */
  durationSec: number;
  /** Unmeasured load at the same concurrency before each run. */
  warmupSec: number;
  /** Seconds per batch size in each of the two raw onnxruntime passes. */
  rawSecPerBatch: number;
  quick: boolean;
  concurrencies: number[];
  rawBatchSizes: number[];
  /** intraOpNumThreads of the raw baseline (default: one per core). */
  rawThreads: number;
  /** Which bench models to run (default all). */
  models: string[] | undefined;
  /** CORRAL_* variables forwarded to loadConfig(). */
  corralEnv: Record<string, string>;
  resultsPath: string;
  /** Experiment: batches in flight per model instead of one per worker (BENCH_CAPACITY). */
  capacity: number | undefined;
  /** BENCH_PROFILE=1: CPU-profile the gateway during each measured window. */
  profile: boolean;
}

const FORWARDED = ['CORRAL_WORKERS', 'CORRAL_THREADS_PER_WORKER', 'CORRAL_MAX_BATCH_SIZE', 'CORRAL_MAX_QUEUE_DELAY_US', 'CORRAL_MAX_QUEUED_ROWS', 'CORRAL_REQUEST_TIMEOUT_MS'];

function argValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1] && !argv[i + 1]!.startsWith('--') ? argv[i + 1] : 'true';
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${value}'`);
  return n;
}

const list = (value: string | undefined): string[] | undefined =>
  value ? value.split(',').map((s) => s.trim()).filter(Boolean) : undefined;

/** @example parseOptions(['--quick'], process.env) */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const quickRaw = argValue(argv, 'quick') ?? env.BENCH_QUICK;
  const quick = quickRaw !== undefined && quickRaw !== '' && quickRaw !== '0' && quickRaw !== 'false';
  const durationSec = positive(argValue(argv, 'duration') ?? env.BENCH_DURATION, 'BENCH_DURATION') ?? (quick ? 2 : 8);
  const concurrencies = (list(argValue(argv, 'concurrency') ?? env.BENCH_CONCURRENCY) ?? ['1', '16', '64'])
    .map((c) => positive(c, 'BENCH_CONCURRENCY')!).map(Math.floor);
  const corralEnv: Record<string, string> = {};
  for (const name of FORWARDED) if (env[name] !== undefined && env[name] !== '') corralEnv[name] = env[name]!;
  return {
    durationSec,
    warmupSec: quick ? 0.5 : 1,
    rawSecPerBatch: positive(env.BENCH_RAW_SECONDS, 'BENCH_RAW_SECONDS') ?? (quick ? 1 : Math.min(3, Math.max(1, durationSec / 2))),
    quick,
    concurrencies,
    rawBatchSizes: [1, 8, 32, 64],
    rawThreads: Math.floor(positive(env.BENCH_RAW_THREADS, 'BENCH_RAW_THREADS') ?? availableParallelism()),
    models: list(argValue(argv, 'models') ?? env.BENCH_MODELS),
    corralEnv,
    resultsPath: env.BENCH_OUT ?? fileURLToPath(new URL('./results/latest.json', import.meta.url)),
    capacity: positive(env.BENCH_CAPACITY, 'BENCH_CAPACITY'),
    profile: env.BENCH_PROFILE === '1' || env.BENCH_PROFILE === 'true',
  };
}
