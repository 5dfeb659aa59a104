import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { toCorralError } from '../errors/index.js';
import type { WorkerPool } from '../workers/index.js';
import { lockOptions, triesExhausted } from './attempts.js';
import { connectRedis } from './redis-connection.js';
import { RedisNames } from './redis-names.js';
import { publishHeartbeat } from './worker-heartbeat.js';
import { encodeFailure, fromWire, toWire, type JobData, type JobResult } from './wire.js';

export interface RemoteWorkerOptions {
  id: string;
  redisUrl: string;
  prefix: string;
  /** Services to serve; empty = every service the gateway has queued work for. */
  services: string[];
  /** Jobs run at once per service; they share one loaded copy of the model. */
  concurrency: number;
  /** How long a job's lock lasts without renewal: a killed worker's job is retried elsewhere after it. */
  lockDurationMs: number;
  /**
   * CORRAL_JOB_ATTEMPTS. Each job carries the gateway's own value, which is what
   * bounds its tries; this only bounds stalls as a backstop (see queue/attempts.ts).
   */
  attempts?: number;
  pool: WorkerPool;
  logger: Logger;
}

/**
 * A worker on any machine: takes batches from the Redis queues of the services
 * it serves, runs them in its own model process (one copy of each model,
 * loaded once), and writes results back. Publishes a heartbeat the gateway
 * lists and sizes its batching by.
 */
export class RemoteWorker {
  private readonly names: RedisNames;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly consumers = new Map<string, Worker>();
  private active = 0;
  private processed = 0;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RemoteWorkerOptions) {
    this.names = new RedisNames(options.prefix);
    this.redis = connectRedis(options.redisUrl);
    this.subscriber = connectRedis(options.redisUrl);
    for (const r of [this.redis, this.subscriber]) r.on('error', (err) => options.logger.warn({ err: err.message }, 'redis connection error'));
  }

  async start(): Promise<void> {
    for (const name of this.options.services) this.consume(name);
    await this.subscriber.subscribe(this.names.unloadChannel);
    this.subscriber.on('message', (_channel, key: string) => this.options.pool.unload(key));
    await this.tick();
    this.timer = setInterval(() => void this.tick(), 2000);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.consumers.values()].map((w) => w.close()));
    await this.redis.del(this.names.workerKey(this.options.id)).catch(() => undefined);
    this.redis.disconnect();
    this.subscriber.disconnect();
    await this.options.pool.close();
  }

  private consume(name: string): void {
    if (this.consumers.has(name)) return;
    const { concurrency, lockDurationMs, attempts, prefix, redisUrl, logger } = this.options;
    const worker = new Worker(this.names.inferenceQueue(name), (job) => this.process(job), {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix,
      concurrency,
      ...lockOptions(lockDurationMs, attempts),
    });
    worker.on('error', (err) => logger.warn({ err: err.message, service: name }, 'queue worker error'));
    this.consumers.set(name, worker);
    logger.info({ service: name }, 'serving');
  }

  private async process(job: Job): Promise<JobResult> {
    const { ref, input, timeoutMs, deadline, requestIds, traceparent, links } = job.data as JobData;
    const reqIds = requestIds ?? [];
    if (deadline !== undefined && Date.now() >= deadline) {
      // Its client has been answered 504 (it waited too long, or its last worker died or hung): never run it.
      throw new UnrecoverableError(encodeFailure('TIMEOUT',
        `Model '${ref.name ?? ref.key}' was not run: its time limit${timeoutMs ? ` of ${timeoutMs} ms` : ''} had passed before a worker took it.`));
    }
    if (triesExhausted(job)) {
      // Every earlier try ended with its worker gone (or failing): CORRAL_JOB_ATTEMPTS are used up.
      const tries = job.opts.attempts ?? 1;
      throw new UnrecoverableError(encodeFailure('INFERENCE_FAILED',
        `Model '${ref.name ?? ref.key}' was tried ${tries} time${tries === 1 ? '' : 's'} and its worker died or failed each time; it was not run again.`));
    }
    this.active++;
    const timing: { computeMs?: number } = {};
    this.options.logger.debug({ reqIds, service: ref.name ?? ref.key, job: job.id }, 'running batch');
    try {
      // Past the deadline the pool kills the model process and fails the run with TIMEOUT.
      const output = await this.options.pool.run(ref, fromWire(input), (chunk) => void job.updateProgress({ chunk } as object), { timeoutMs, deadline, requestIds: reqIds, timing, ...(traceparent !== undefined ? { traceparent, links } : {}) });
      this.processed++;
      this.options.logger.debug({ reqIds, service: ref.name ?? ref.key, job: job.id, computeMs: timing.computeMs }, 'ran batch');
      return { output: toWire(output), computeMs: timing.computeMs };
    } catch (err) {
      const e = toCorralError(err);
      this.options.logger.warn({ reqIds, service: ref.name ?? ref.key, job: job.id, code: e.code, err: e.message }, 'batch failed');
      // A client error (bad input, unloadable model) fails the same way on any worker: do not retry it.
      // Nor a timeout: its client has its 504, and the model would hang another worker too.
      if (e.status < 500 || e.code === 'TIMEOUT') throw new UnrecoverableError(encodeFailure(e.code, e.message));
      throw new Error(encodeFailure(e.code, e.message));
    } finally {
      this.active--;
    }
  }

  private async tick(): Promise<void> {
    try {
      if (this.options.services.length === 0) {
        for (const name of await this.redis.smembers(this.names.servicesKey)) this.consume(name);
      }
      const info = this.options.pool.workers();
      await publishHeartbeat(this.redis, this.names, {
        id: this.options.id, host: hostname(), pid: process.pid, services: this.options.services,
        concurrency: this.options.concurrency, active: this.active, processed: this.processed,
        rssBytes: process.memoryUsage().rss + info.reduce((n, w) => n + w.rssBytes, 0),
        loadedModels: info.flatMap((w) => w.loadedModels), startedAt: this.startedAt, lastSeen: new Date().toISOString(),
      });
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'heartbeat failed; retrying');
    }
  }
}
