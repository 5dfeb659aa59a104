import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CorralError, ERROR_CATALOG, type ErrorCode } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';
import type { InferenceDispatcher, RunLimits, WorkerInfo } from '../dispatch/inference-dispatcher.js';
import { connectRedis } from './redis-connection.js';
import { RedisNames, refName } from './redis-names.js';
import { readHeartbeats, type Heartbeat } from './worker-heartbeat.js';
import { decodeFailure, readJobResult, toWire, type JobData } from './wire.js';

export interface BullMqDispatcherOptions {
  redisUrl: string;
  prefix: string;
  /** Tries per batch: a worker killed mid-job gives its job to another until these run out. */
  attempts: number;
  /** How long finished jobs (and their results) stay in Redis. */
  resultTtlSeconds: number;
  /** Jobs waiting per queue past which new work gets 429. */
  maxWaiting: number;
  /** Validates uploads (a local worker pool); remote workers only run models. */
  inspector: Pick<InferenceDispatcher, 'inspect' | 'close'>;
  metrics: CorralMetrics;
  logger: Logger;
  /** Hears of workers appearing, changing what they serve or load, and going silent (GET /api/events). */
  events?: EventHub;
}

interface Waiter {
  settle: () => Promise<void>;
  onChunk?: (data: unknown) => void;
  /** Gives up waiting (the dispatcher is closing). */
  abort: (err: Error) => void;
}

interface ModelQueue {
  queue: Queue;
  events: QueueEvents;
  waiters: Map<string, Waiter>;
  waiting: number;
}

const shuttingDown = () => new CorralError('INFERENCE_FAILED', 'The gateway is shutting down; the batch was not run.');

/**
 * Sends batches to workers on any machine through BullMQ on Redis: one queue
 * per model or service, one job per batch, the result read back from the job.
 * Waiting listens to queue events and also polls, so an answer is not missed
 * while Redis restarts.
 */
export class BullMqDispatcher implements InferenceDispatcher {
  private readonly redis: Redis;
  private readonly names: RedisNames;
  private readonly queues = new Map<string, ModelQueue>();
  private heartbeats: Heartbeat[] = [];
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: BullMqDispatcherOptions) {
    this.redis = connectRedis(options.redisUrl);
    this.redis.on('error', (err) => options.logger.warn({ err: err.message }, 'redis connection error'));
    this.names = new RedisNames(options.prefix);
    this.timer = setInterval(() => void this.refresh(), 1000);
    this.timer.unref();
    void this.refresh();
  }

  /**
   * Queues one batch as a job. The job carries the batch's time limit and deadline:
   * a `corral worker` stops running it at the deadline, refuses it past the deadline
   * (after it waited, or after its worker died), and never retries a timeout.
   */
  async run(ref: ModelRef, input: unknown, onChunk?: (data: unknown) => void, limits?: RunLimits): Promise<unknown> {
    if (this.closed) throw shuttingDown();
    const q = await this.queueFor(refName(ref));
    if (q.waiting >= this.options.maxWaiting) {
      throw new CorralError('QUEUE_FULL', `${q.waiting} batches are waiting for '${refName(ref)}', the limit; retry shortly.`, { headers: { 'retry-after': '1' } });
    }
    const data: JobData = { ref, input: toWire(input), timeoutMs: limits?.timeoutMs, deadline: limits?.deadline, requestIds: limits?.requestIds };
    if (limits?.traceparent !== undefined) { data.traceparent = limits.traceparent; if (limits.links) data.links = limits.links; }
    const job = await q.queue.add('run', data, {
      attempts: this.options.attempts,
      backoff: { type: 'fixed', delay: 200 },
      removeOnComplete: { age: this.options.resultTtlSeconds },
      removeOnFail: { age: this.options.resultTtlSeconds },
    });
    q.waiting++;
    if (this.closed) throw shuttingDown();
    return this.awaitJob(q, job.id!, onChunk, limits?.timing);
  }

  inspect(runtime: string, path: string): Promise<ModelSignature> {
    return this.options.inspector.inspect(runtime, path);
  }

  unload(key: string): void {
    void this.redis.publish(this.names.unloadChannel, key).catch(() => undefined);
  }

  /** Batches in flight per model: the job slots of the live workers serving it. */
  capacity(name?: string): number {
    const serving = this.heartbeats.filter((h) => !name || h.services.length === 0 || h.services.includes(name));
    return Math.max(1, serving.reduce((n, h) => n + h.concurrency, 0));
  }

  isReady(): boolean {
    return this.redis.status === 'ready' && this.heartbeats.length > 0;
  }

  workers(): WorkerInfo[] {
    return this.heartbeats.map(workerInfo);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const q of this.queues.values()) {
      // Callers still waiting for a batch (no worker took it) get an answer, and their polls stop.
      for (const waiter of [...q.waiters.values()]) waiter.abort(shuttingDown());
      await q.events.close().catch(() => undefined);
      await q.queue.close().catch(() => undefined);
    }
    await this.options.inspector.close();
    this.redis.disconnect();
  }

  private async queueFor(name: string): Promise<ModelQueue> {
    let q = this.queues.get(name);
    if (q) return q;
    const connection = { url: this.options.redisUrl, maxRetriesPerRequest: null };
    const queueName = this.names.inferenceQueue(name);
    const queue = new Queue(queueName, { connection, prefix: this.options.prefix });
    const events = new QueueEvents(queueName, { connection, prefix: this.options.prefix });
    const created: ModelQueue = { queue, events, waiters: new Map(), waiting: 0 };
    q = created;
    events.on('completed', ({ jobId }) => void created.waiters.get(jobId)?.settle());
    events.on('failed', ({ jobId }) => void created.waiters.get(jobId)?.settle());
    events.on('progress', ({ jobId, data }) => created.waiters.get(jobId)?.onChunk?.((data as { chunk?: unknown }).chunk));
    events.on('error', () => undefined); // reconnects on its own
    queue.on('error', () => undefined);
    this.queues.set(name, q);
    // Workers that serve every service find new queues through this set.
    await this.redis.sadd(this.names.servicesKey, name);
    return q;
  }

  private awaitJob(q: ModelQueue, id: string, onChunk?: (data: unknown) => void, timing?: { computeMs?: number }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearInterval(poll);
        q.waiters.delete(id);
        fn();
      };
      const settle = async () => {
        const job = await Job.fromId(q.queue, id).catch(() => undefined);
        if (!job) return; // Redis is away, or the job was not yet written back; the poll tries again
        if (job.finishedOn && job.returnvalue !== null && job.returnvalue !== undefined && !job.failedReason) {
          const result = readJobResult(job.returnvalue);
          if (timing && result.computeMs !== undefined) timing.computeMs = result.computeMs;
          finish(() => resolve(result.output));
        } else if (job.finishedOn && job.failedReason && (job.attemptsMade >= (job.opts.attempts ?? 1) || (await job.isFailed()))) {
          const failure = decodeFailure(job.failedReason);
          const code = (failure.code in ERROR_CATALOG ? failure.code : 'INFERENCE_FAILED') as ErrorCode;
          finish(() => reject(new CorralError(code, failure.message)));
        }
      };
      const poll = setInterval(() => void settle(), 1000);
      q.waiters.set(id, { settle, onChunk, abort: (err) => finish(() => reject(err)) });
      void settle();
    });
  }

  /** Refreshes the heartbeat view and per-queue counts (for backpressure and metrics). */
  private async refresh(): Promise<void> {
    try {
      const previous = this.heartbeats;
      this.heartbeats = await readHeartbeats(this.redis, this.names);
      this.publishChanges(previous, this.heartbeats);
      const { metrics } = this.options;
      for (const [name, q] of this.queues) {
        const counts = await q.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        q.waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
        metrics.remoteQueueWaiting.set({ service: name }, q.waiting);
        metrics.remoteQueueActive.set({ service: name }, counts.active ?? 0);
        metrics.remoteWorkers.set({ service: name }, this.heartbeats.filter((h) => h.services.length === 0 || h.services.includes(name)).length);
      }
    } catch {
      // Redis restarting: keep the last view.
    }
  }

  /** Workers that appeared, changed what they are (not their counters), or went silent. */
  private publishChanges(previous: Heartbeat[], current: Heartbeat[]): void {
    const { events } = this.options;
    if (!events) return;
    const identity = (h: Heartbeat) => JSON.stringify([h.pid, h.host, h.services, h.concurrency, h.loadedModels]);
    const before = new Map(previous.map((h) => [h.id, identity(h)]));
    for (const h of current) if (before.get(h.id) !== identity(h)) events.publish({ type: 'worker', worker: workerInfo(h) });
    const now = new Set(current.map((h) => h.id));
    for (const h of previous) if (!now.has(h.id)) events.publish({ type: 'worker-deleted', worker: { ...workerInfo(h), state: 'exited' } });
  }
}

/** A remote worker as GET /api/workers shows it. */
function workerInfo(h: Heartbeat): WorkerInfo {
  return {
    id: h.id, pid: h.pid, state: 'ready', outstanding: h.active, rssBytes: h.rssBytes, loadedModels: h.loadedModels,
    restarts: 0, host: h.host, services: h.services, concurrency: h.concurrency, processed: h.processed, lastSeen: h.lastSeen,
  };
}
