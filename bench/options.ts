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
  /** Which sections run (BENCH_SECTIONS, default all), in SECTIONS order. */
  sections: Section[];
  /** Sentences per POST /v1/embeddings request (BENCH_EMBED_SENTENCES, default 1). */
  embedSentences: number;
  /** Images per OCR run (BENCH_OCR_IMAGES; default 40, 12 when quick). */
  ocrImages: number;
  /** Concurrencies of the in-process vs Redis comparison (BENCH_QUEUE_CONCURRENCY, default 16,64). */
  queueConcurrencies: number[];
  /** --concurrency of each `corral worker` in the queue section (BENCH_QUEUE_WORKER_CONCURRENCY, default 1). */
  queueWorkerConcurrency: number;
  /** The auth section's load: concurrency, requests per measured run, unmeasured requests before each, on/off rounds. */
  auth: {
    /** BENCH_AUTH_CONCURRENCY, default 64. */
    concurrency: number;
    /** BENCH_AUTH_REQUESTS, default 20000 (4000 when quick). */
    requests: number;
    /** BENCH_AUTH_WARMUP_REQUESTS, default 2000 (500 when quick). */
    warmupRequests: number;
    /** BENCH_AUTH_ROUNDS: rounds of one auth-on and one auth-off run, default 7 (2 when quick). */
    rounds: number;
    /** BENCH_AUTH_MAX_SECONDS: a measured run stops after this (bounded in time too), default 60. */
    maxSec: number;
  };
}

/**
 * The benchmark's sections, each selectable with BENCH_SECTIONS=a,b:
 *   kserve      raw ONNX served through KServe v2 vs onnxruntime in-process (the original bench)
 *   embeddings  POST /v1/embeddings: a transformers encoder service and the built-in `embed`
 *   batching    the transformers service at c=64 with its default batching vs max_batch_size 1
 *   ocr         images per second through POST /ocr
 *   generation  tokens per second of a tiny GPT-2 service at c=1 vs c=8 (batched generation)
 *   queue       the encoder through the in-process gateway vs Redis + two `corral worker`s
 *   auth        iris through KServe v2 at c=64: a gateway with auth on (a scoped, rate-limited key) vs CORRAL_AUTH=off
 *   binary      a 64x64 cnn through KServe v2 at c=16, 8 rows a request: Triton binary tensors vs JSON
 *   varlen      the masked encoder through KServe v2 at c=64: mixed lengths 8..128 (padded batches) vs all at the mean length
 *   footprint   `corral start` as a user runs it: time to ready, idle gateway and worker resident memory
 *   ocr-accuracy      the `ocr` runtime's engines (paddle, tesseract, auto) on the rendered evaluation set, beside Debian's Tesseract 5 command
 *   keyterms-quality  F1@5 of the `keyterms` runtime on the labelled paragraphs
 */
export const SECTIONS = ['kserve', 'embeddings', 'batching', 'ocr', 'generation', 'queue', 'auth', 'binary', 'varlen', 'footprint', 'ocr-accuracy', 'keyterms-quality'] as const;
export type Section = (typeof SECTIONS)[number];

/** Redis of the queue section; loopback only. */
export const BENCH_REDIS_URL = 'redis://127.0.0.1:6379';

function parseSections(value: string | undefined): Section[] {
  const wanted = list(value);
  if (!wanted || wanted.includes('all')) return [...SECTIONS];
  const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`BENCH_SECTIONS: unknown section(s) ${unknown.join(', ')}; have ${SECTIONS.join(', ')}`);
  return SECTIONS.filter((s) => wanted.includes(s));
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
    sections: parseSections(argValue(argv, 'sections') ?? env.BENCH_SECTIONS),
    embedSentences: Math.floor(positive(env.BENCH_EMBED_SENTENCES, 'BENCH_EMBED_SENTENCES') ?? 1),
    ocrImages: Math.floor(positive(env.BENCH_OCR_IMAGES, 'BENCH_OCR_IMAGES') ?? (quick ? 12 : 40)),
    queueConcurrencies: (list(env.BENCH_QUEUE_CONCURRENCY) ?? ['16', '64']).map((c) => Math.floor(positive(c, 'BENCH_QUEUE_CONCURRENCY')!)),
    queueWorkerConcurrency: Math.floor(positive(env.BENCH_QUEUE_WORKER_CONCURRENCY, 'BENCH_QUEUE_WORKER_CONCURRENCY') ?? 1),
    auth: {
      concurrency: Math.floor(positive(env.BENCH_AUTH_CONCURRENCY, 'BENCH_AUTH_CONCURRENCY') ?? 64),
      requests: Math.floor(positive(env.BENCH_AUTH_REQUESTS, 'BENCH_AUTH_REQUESTS') ?? (quick ? 4000 : 20_000)),
      warmupRequests: Math.floor(positive(env.BENCH_AUTH_WARMUP_REQUESTS, 'BENCH_AUTH_WARMUP_REQUESTS') ?? (quick ? 500 : 2000)),
      rounds: Math.floor(positive(env.BENCH_AUTH_ROUNDS, 'BENCH_AUTH_ROUNDS') ?? (quick ? 2 : 7)),
      maxSec: positive(env.BENCH_AUTH_MAX_SECONDS, 'BENCH_AUTH_MAX_SECONDS') ?? 60,
    },
  };
}
