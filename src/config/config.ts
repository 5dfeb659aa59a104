import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PaddingSetting } from '../batching/padding-setting.js';

/** Dynamic batching, with Triton's names and meaning. */
export interface BatchingConfig {
  /** Most rows (summed batch dimension) in one run; 0 or 1 turns batching off. */
  maxBatchSize: number;
  /** How long a partial batch may wait for more requests while a worker is free. */
  maxQueueDelayMicroseconds: number;
}

/** What CORRAL_HOME/corral.json may set for one model or service (by name). */
export interface ModelOverride extends Partial<BatchingConfig> {
  /** Limit on one inference request, overriding CORRAL_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Padding of token sequences for batching (`false` = off); unset = automatic. */
  padding?: PaddingSetting;
}

export interface CorralConfig {
  home: string;
  host: string;
  port: number;
  /** Worker processes that run models. */
  workers: number;
  /** onnxruntime intra-op threads per worker; by default the cores are shared out among workers. */
  threadsPerWorker: number;
  /** Memory a worker may spend on loaded models before the least recently used is unloaded. */
  modelMemoryBudgetBytes: number;
  maxUploadBytes: number;
  /** Largest JSON body accepted by the inference routes. */
  maxBodyBytes: number;
  batching: BatchingConfig;
  /** Per-model (or per-service) overrides read from CORRAL_HOME/corral.json. */
  modelOverrides: Record<string, ModelOverride>;
  /** Rows queued per model past which new requests get 429 (backpressure). */
  maxQueuedRows: number;
  /**
   * Limit on a whole inference request (CORRAL_REQUEST_TIMEOUT_MS), unless the model
   * sets its own `timeout_ms`: past it the request gets 504 TIMEOUT and the worker
   * stuck on it is killed and replaced. Also bounds the wait for a ready worker.
   */
  requestTimeoutMs: number;
  logLevel: string;
  /** May services download models from the Hugging Face hub? Off in tests (no network). */
  allowRemoteModels: boolean;
  /** How jobs on a cluster reach this gateway (CORRAL_PUBLIC_URL); default: the listen address. */
  publicUrl?: string;
  /** Redis for scale-out (CORRAL_REDIS_URL); unset = everything in this process. */
  redisUrl?: string;
  /** PostgreSQL for the state several gateways share (CORRAL_DATABASE_URL, postgres://user:password@host:port/db); unset = SQLite in CORRAL_HOME. */
  databaseUrl?: string;
  /** Where gateways sharing a database elect the one that runs the monitors (CORRAL_LEADER_LOCK: postgres, the default, or redis). */
  leaderLock: 'postgres' | 'redis';
  /** Prefix of every Redis key, so deployments can share a server. */
  queuePrefix: string;
  /** Async jobs run at once by this gateway. */
  jobConcurrency: number;
  /** Queued async jobs past which POST /api/jobs answers 429. */
  maxQueuedJobs: number;
  /** Requests held per service while it wakes (CORRAL_WAKE_MAX_QUEUED); a service's wake_max_queued wins. */
  wakeMaxQueued: number;
  /** Seconds held requests wait for a waking service (CORRAL_WAKE_TIMEOUT_S); a service's wake_timeout_s wins. */
  wakeTimeoutS: number;
  /** Back-off before the first restart of a service whose box was preempted (CORRAL_BOX_RESTART_BACKOFF_MS); doubles each time, at most 5 minutes. */
  boxRestartBackoffMs: number;
  /** How often services on clusters and boxes are polled (CORRAL_MONITOR_INTERVAL_MS). */
  monitorIntervalMs: number;
  /** How long finished jobs and their results are kept. */
  jobTtlSeconds: number;
  /** Tries per job or batch before it fails (a killed worker's job is retried). */
  jobAttempts: number;
  /** A job lock not renewed for this long means its worker died. */
  lockDurationMs: number;
  /** GET /api/events: a comment line this often keeps idle streams open through proxies. */
  eventsHeartbeatMs: number;
  /** GET /api/events: recent events kept for clients that reconnect with Last-Event-ID. */
  eventsHistory: number;
  /** Who may do what: API keys, the Host and Origin guards, webhook rules (see docs/auth.md). */
  auth: AuthConfig;
  /** How often the gateway samples its own metrics for GET /api/metrics/series (CORRAL_METRICS_SAMPLE_MS). */
  metricsSampleMs: number;
  /** Where the built web UI is served from (CORRAL_UI_DIR); by default the `npm ci` build in dist/ui. */
  uiDir?: string;
  /** CORRAL_NE_PORT: a second listener serving only the Neural Energy routes (its clients expect 5002); unset = none. */
  nePort?: number;
  /** CORRAL_NE_ERRORS_200: Neural Energy request errors answer 200 with their ERROR field, as the original gateway did. */
  neErrors200: boolean;
}

export interface AuthConfig {
  /** 'on' (default): every non-public route needs an API key. 'off' is allowed on loopback only. */
  mode: 'on' | 'off';
  /** CORRAL_ADMIN_TOKEN: an admin credential from the environment instead of CORRAL_HOME/admin.key. */
  adminToken?: string;
  /** CORRAL_ANONYMOUS_SCOPES: scopes granted to requests without a credential (e.g. read,infer for a private lab). */
  anonymousScopes: string[];
  /** CORRAL_ALLOWED_HOSTS: extra Host header values accepted besides the bind address, localhost and the public URL. */
  allowedHosts: string[];
  /** CORRAL_CORS_ORIGINS: browser origins allowed to call the API cross-origin. */
  corsOrigins: string[];
  /** CORRAL_WEBHOOK_ALLOW_PRIVATE: may webhooks point at private, loopback and link-local addresses? */
  webhookAllowPrivate: boolean;
  /** CORRAL_WEBHOOK_SECRET: HMAC key of webhook signatures; default CORRAL_HOME/webhook.secret, made on the first delivery. */
  webhookSecret?: string;
  /** Failed authentications per minute one client address may make before it gets 429. */
  failuresPerMinute: number;
  /**
   * Set only inside `corral host` (a service in a cluster job): every route but health
   * needs this credential, which only the gateway that launched the job can present.
   */
  hostCredential?: string;
}

export const modelsDir = (config: Pick<CorralConfig, 'home'>) => join(config.home, 'models');
export const databasePath = (config: Pick<CorralConfig, 'home'>) => join(config.home, 'corral.sqlite');
export const configFilePath = (config: Pick<CorralConfig, 'home'>) => join(config.home, 'corral.json');

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return Math.floor(value);
}

/**
 * Configuration from the environment; `overrides` wins (tests and CLI flags use it).
 * @example loadConfig(process.env, { port: 0 })
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<CorralConfig> = {}): CorralConfig {
  const cores = availableParallelism();
  const workers = overrides.workers ?? intFrom(env, 'CORRAL_WORKERS', cores);
  const config: CorralConfig = {
    home: resolve(env.CORRAL_HOME ?? join(homedir(), '.corral')),
    host: env.CORRAL_HOST ?? '127.0.0.1',
    port: intFrom(env, 'CORRAL_PORT', 8000),
    workers: Math.max(1, workers),
    threadsPerWorker: intFrom(env, 'CORRAL_THREADS_PER_WORKER', Math.max(1, Math.floor(cores / Math.max(1, workers)))),
    modelMemoryBudgetBytes: intFrom(env, 'CORRAL_MODEL_MEMORY_MB', 4096) * 1024 * 1024,
    maxUploadBytes: intFrom(env, 'CORRAL_MAX_UPLOAD_MB', 512) * 1024 * 1024,
    maxBodyBytes: intFrom(env, 'CORRAL_MAX_BODY_MB', 64) * 1024 * 1024,
    batching: {
      maxBatchSize: intFrom(env, 'CORRAL_MAX_BATCH_SIZE', 32),
      maxQueueDelayMicroseconds: intFrom(env, 'CORRAL_MAX_QUEUE_DELAY_US', 0),
    },
    modelOverrides: {},
    maxQueuedRows: intFrom(env, 'CORRAL_MAX_QUEUED_ROWS', 100_000),
    requestTimeoutMs: intFrom(env, 'CORRAL_REQUEST_TIMEOUT_MS', 60_000),
    logLevel: env.CORRAL_LOG_LEVEL ?? 'info',
    allowRemoteModels: env.CORRAL_ALLOW_REMOTE_MODELS !== '0',
    publicUrl: env.CORRAL_PUBLIC_URL || undefined,
    redisUrl: env.CORRAL_REDIS_URL || undefined,
    databaseUrl: databaseUrlFrom(env),
    leaderLock: leaderLockFrom(env),
    queuePrefix: env.CORRAL_QUEUE_PREFIX || 'corral',
    jobConcurrency: intFrom(env, 'CORRAL_JOB_CONCURRENCY', 32),
    maxQueuedJobs: intFrom(env, 'CORRAL_MAX_QUEUED_JOBS', 10_000),
    wakeMaxQueued: Math.max(1, intFrom(env, 'CORRAL_WAKE_MAX_QUEUED', 100)),
    wakeTimeoutS: Math.max(1, intFrom(env, 'CORRAL_WAKE_TIMEOUT_S', 600)),
    jobTtlSeconds: intFrom(env, 'CORRAL_JOB_TTL_S', 3600),
    boxRestartBackoffMs: intFrom(env, 'CORRAL_BOX_RESTART_BACKOFF_MS', 5000),
    monitorIntervalMs: Math.max(100, intFrom(env, 'CORRAL_MONITOR_INTERVAL_MS', 2000)),
    jobAttempts: Math.max(1, intFrom(env, 'CORRAL_JOB_ATTEMPTS', 3)),
    lockDurationMs: intFrom(env, 'CORRAL_LOCK_MS', 30_000),
    eventsHeartbeatMs: Math.max(1, intFrom(env, 'CORRAL_EVENTS_HEARTBEAT_MS', 15_000)),
    eventsHistory: Math.max(1, intFrom(env, 'CORRAL_EVENTS_HISTORY', 1000)),
    auth: authFrom(env),
    metricsSampleMs: Math.max(10, intFrom(env, 'CORRAL_METRICS_SAMPLE_MS', 5000)),
    uiDir: env.CORRAL_UI_DIR || undefined,
    nePort: env.CORRAL_NE_PORT ? intFrom(env, 'CORRAL_NE_PORT', 0) : undefined,
    neErrors200: env.CORRAL_NE_ERRORS_200 === '1' || env.CORRAL_NE_ERRORS_200 === 'true',
    ...overrides,
  };
  return config;
}

/** Only PostgreSQL URLs; the error never repeats the value (it may hold a password). */
function databaseUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.CORRAL_DATABASE_URL || undefined;
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) throw new Error('CORRAL_DATABASE_URL must be a postgres:// or postgresql:// URL.');
  return url;
}

function leaderLockFrom(env: NodeJS.ProcessEnv): 'postgres' | 'redis' {
  const lock = env.CORRAL_LEADER_LOCK || 'postgres';
  if (lock !== 'postgres' && lock !== 'redis') throw new Error(`CORRAL_LEADER_LOCK must be 'postgres' or 'redis', got '${lock}'.`);
  if (lock === 'redis' && !env.CORRAL_REDIS_URL) throw new Error('CORRAL_LEADER_LOCK=redis needs CORRAL_REDIS_URL.');
  return lock;
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function authFrom(env: NodeJS.ProcessEnv): AuthConfig {
  const mode = (env.CORRAL_AUTH ?? 'on').toLowerCase();
  if (mode !== 'on' && mode !== 'off') throw new Error(`CORRAL_AUTH must be 'on' or 'off', got '${env.CORRAL_AUTH}'`);
  const adminToken = env.CORRAL_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 32) throw new Error('CORRAL_ADMIN_TOKEN must be at least 32 characters long.');
  return {
    mode,
    adminToken,
    anonymousScopes: list(env.CORRAL_ANONYMOUS_SCOPES),
    allowedHosts: list(env.CORRAL_ALLOWED_HOSTS).map((h) => h.toLowerCase()),
    corsOrigins: list(env.CORRAL_CORS_ORIGINS),
    webhookAllowPrivate: env.CORRAL_WEBHOOK_ALLOW_PRIVATE === '1' || env.CORRAL_WEBHOOK_ALLOW_PRIVATE === 'true',
    webhookSecret: env.CORRAL_WEBHOOK_SECRET || undefined,
    failuresPerMinute: Math.max(1, intFrom(env, 'CORRAL_AUTH_FAILURES_PER_MINUTE', 30)),
  };
}
