import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CorralError } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import { lockOptions, triesExhausted } from '../queue/attempts.js';
import { connectRedis } from '../queue/redis-connection.js';
import { RedisNames } from '../queue/redis-names.js';
import { JobListeners } from './job-listeners.js';
import { badCursor, isFinished, ownedBy, requestOf, type JobFilter, type JobPage, type JobQueue, type JobSpec, type JobState, type JobView } from './job.js';
import type { JobOutcome } from './execute-job.js';

export interface BullMqJobQueueOptions {
  redisUrl: string;
  prefix: string;
  execute: (spec: JobSpec) => Promise<JobOutcome>;
  /** Jobs this gateway runs at once (each waits on model workers, so this can be high). */
  concurrency: number;
  maxQueued: number;
  resultTtlSeconds: number;
  attempts: number;
  lockDurationMs: number;
  onFinished?: (job: JobView, spec: JobSpec) => void;
  logger: Logger;
  /** Hears of every change of every job, whichever gateway made it (GET /api/events). */
  events?: EventHub;
}

const STATE: Record<string, JobState> = {
  waiting: 'queued', 'waiting-children': 'queued', prioritized: 'queued', delayed: 'queued',
  active: 'active', completed: 'completed', failed: 'failed',
};

/**
 * Async jobs on Redis: they survive a gateway restart, and any gateway sharing
 * the Redis server runs them. A job stalled by a dying gateway is taken over
 * by another; attempts are bounded, then the job is failed with a reason.
 */
export class BullMqJobQueue implements JobQueue {
  private readonly names: RedisNames;
  private readonly redis: Redis;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly worker: Worker;
  private readonly listeners = new JobListeners();
  /** The state last published per job: queue events repeat a state (active, then progress 50). */
  private readonly published = new Map<string, JobState>();
  /** Jobs this gateway is running now, and who waits for them to end (close). */
  private running = 0;
  private onIdle: (() => void) | undefined;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.names = new RedisNames(options.prefix);
    this.redis = connectRedis(options.redisUrl);
    this.redis.on('error', () => undefined);
    const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue(this.names.jobsQueue, { connection, prefix: options.prefix });
    this.events = new QueueEvents(this.names.jobsQueue, { connection, prefix: options.prefix });
    this.worker = new Worker(this.names.jobsQueue, (job) => this.run(job), {
      connection, prefix: options.prefix, concurrency: options.concurrency,
      ...lockOptions(options.lockDurationMs, options.attempts),
    });
    const warn = (err: Error) => options.logger.warn({ err: err.message }, 'job queue redis error');
    this.queue.on('error', warn);
    this.events.on('error', warn);
    this.worker.on('error', warn);
    for (const event of ['waiting', 'active', 'progress', 'completed', 'failed', 'removed'] as const) {
      this.events.on(event, ({ jobId }: { jobId: string }) => void this.notify(jobId));
    }
    this.worker.on('completed', (job) => void this.finished(job));
    this.worker.on('failed', (job) => job && void this.finished(job));
  }

  async add(spec: JobSpec): Promise<JobView> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed');
    const queued = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
    if (queued >= this.options.maxQueued) {
      throw new CorralError('QUEUE_FULL', `${queued} jobs are queued, the limit; retry shortly.`, { headers: { 'retry-after': '1' } });
    }
    const job = await this.queue.add('job', spec, {
      jobId: crypto.randomUUID(),
      priority: spec.priority,
      attempts: this.options.attempts,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: { age: this.options.resultTtlSeconds },
      removeOnFail: { age: this.options.resultTtlSeconds },
    });
    // Arrival order across every gateway: a counter, since two jobs can share a millisecond.
    const arrival = await this.redis.incr(this.names.jobsArrivalKey);
    await this.redis.zadd(this.names.jobsIndexKey, 0, indexMember(job.id!, arrival, spec));
    return (await this.get(job.id!))!;
  }

  async get(id: string): Promise<JobView | undefined> {
    // The state first, then the job: a job finishes (state and result) in one step, so one read
    // as finished has its result. The other order could show 'completed' with no result.
    const state = await this.queue.getJobState(id);
    const job = await Job.fromId<JobSpec, JobOutcome>(this.queue, id);
    if (!job) {
      const cancelled = await this.redis.get(this.cancelledKey(id));
      return cancelled ? (JSON.parse(cancelled) as JobView) : undefined;
    }
    return this.view(job, state);
  }

  async cancel(id: string): Promise<JobView> {
    const job = await Job.fromId<JobSpec, JobOutcome>(this.queue, id);
    if (!job) throw new CorralError('JOB_NOT_FOUND', `No job '${id}'.`);
    const state = STATE[await job.getState()] ?? 'queued';
    if (state !== 'queued') throw new CorralError('JOB_NOT_CANCELLABLE', `Job '${id}' is ${state}; only queued jobs can be cancelled.`);
    const view: JobView = { ...this.view(job, 'waiting'), state: 'cancelled', finished_at: new Date().toISOString() };
    // Remember the cancellation for as long as a result would be kept, then remove the job.
    await this.redis.set(this.cancelledKey(id), JSON.stringify(view), 'EX', this.options.resultTtlSeconds);
    try {
      await job.remove();
    } catch {
      await this.redis.del(this.cancelledKey(id));
      throw new CorralError('JOB_NOT_CANCELLABLE', `Job '${id}' started before it could be cancelled.`);
    }
    this.emit(view);
    // Finished, like a completed or failed job: counted, and its webhook told (as in-process).
    this.options.onFinished?.(view, job.data);
    return view;
  }

  /**
   * Walks the index newest first. Service and owner are in the index entry; the
   * state is read from the job. Entries whose job is gone (past its TTL) are dropped.
   */
  async list(filter: JobFilter): Promise<JobPage> {
    let from = filter.cursor === undefined ? '-' : `(${decodeCursor(filter.cursor)}`;
    const page: Array<{ view: JobView; member: string }> = [];
    const gone: string[] = [];
    try {
      for (;;) {
        const members = await this.redis.zrangebylex(this.names.jobsIndexKey, from, '+', 'LIMIT', 0, 100);
        if (members.length === 0) return { jobs: page.map((p) => p.view) };
        from = `(${members.at(-1)}`;
        const candidates = members.map((member) => ({ member, entry: parseMember(member) }))
          .filter(({ entry }) => entry && (filter.service === undefined || entry.service === filter.service) && ownedBy(entry, filter.owner));
        const views = await Promise.all(candidates.map(({ entry }) => this.get(entry!.id)));
        for (const [i, view] of views.entries()) {
          if (!view) gone.push(candidates[i]!.member);
          else if (filter.state === undefined || view.state === filter.state) {
            if (page.length === filter.limit) return { jobs: page.map((p) => p.view), next: Buffer.from(page.at(-1)!.member).toString('base64url') };
            page.push({ view, member: candidates[i]!.member });
          }
        }
      }
    } finally {
      if (gone.length > 0) await this.redis.zrem(this.names.jobsIndexKey, ...gone).catch(() => undefined);
    }
  }

  subscribe(id: string, listener: (job: JobView) => void): () => void {
    return this.listeners.subscribe(id, listener);
  }

  async close(): Promise<void> {
    // Take no new jobs and give the running ones a bounded grace period: they may be waiting on
    // model workers that are gone. Past it, close without them; their locks lapse and the jobs are
    // retried by another gateway, or by this one after a restart.
    await this.worker.pause(true).catch(() => undefined);
    if (this.running > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.options.lockDurationMs, 10_000));
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.worker.close(this.running > 0);
    await this.events.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  private async run(job: Job<JobSpec, JobOutcome>): Promise<JobOutcome> {
    if (triesExhausted(job)) {
      // The gateways that started it stopped (or failed) each time: CORRAL_JOB_ATTEMPTS are used up.
      throw new UnrecoverableError(`The job was started ${job.opts.attempts ?? 1} times and did not finish; it was not run again.`);
    }
    this.running++;
    try {
      await job.updateProgress(50);
      // A failed task route is a finished job with an error, not a retry: the input would fail again.
      return await this.options.execute(job.data);
    } finally {
      if (--this.running === 0) this.onIdle?.();
    }
  }

  private async finished(job: Job<JobSpec, JobOutcome>): Promise<void> {
    const view = this.view(job, job.finishedOn ? (job.failedReason ? 'failed' : 'completed') : 'active');
    if (isFinished(view.state)) this.options.onFinished?.(view, job.data);
  }

  private async notify(id: string): Promise<void> {
    if (!this.listeners.watched(id) && !this.options.events) return;
    const view = await this.get(id).catch(() => undefined);
    if (view) this.emit(view);
  }

  private emit(view: JobView): void {
    this.listeners.emit(view);
    if (!this.options.events || this.published.get(view.id) === view.state) return;
    // Newest last, so the oldest entry goes when the map is full.
    this.published.delete(view.id);
    this.published.set(view.id, view.state);
    if (this.published.size > 10_000) this.published.delete(this.published.keys().next().value!);
    this.options.events.publish({ type: 'job', job: view });
  }

  private cancelledKey(id: string): string {
    return `${this.options.prefix}:cancelled:${id}`;
  }

  private view(job: Job<JobSpec, JobOutcome>, bullState: string): JobView {
    let state = STATE[bullState] ?? 'queued';
    const outcome = job.returnvalue;
    const view: JobView = {
      id: job.id!, service: job.data.service, owner: job.data.owner, state, progress: 0, attempts: job.attemptsMade, request: requestOf(job.data),
      created_at: new Date(job.timestamp).toISOString(),
      ...(job.processedOn ? { started_at: new Date(job.processedOn).toISOString() } : {}),
      ...(job.finishedOn ? { finished_at: new Date(job.finishedOn).toISOString() } : {}),
    };
    if (state === 'completed' && outcome && !outcome.ok) state = 'failed';
    view.state = state;
    view.progress = state === 'queued' ? 0 : state === 'active' ? 50 : 100;
    if (state === 'completed') Object.assign(view, { result: outcome?.body, status_code: outcome?.statusCode });
    if (state === 'failed') Object.assign(view, { error: outcome?.error ?? job.failedReason, status_code: outcome?.statusCode });
    return view;
  }
}

/**
 * A job's index entry. All entries score 0, so Redis orders them by text: the
 * first field, 16 digits counting down as jobs arrive, puts the newest job
 * first. The rest is what the list filters on without reading the job.
 */
function indexMember(id: string, arrival: number, spec: JobSpec): string {
  return `${String(1e15 - arrival).padStart(16, '0')}|${JSON.stringify([id, spec.service, spec.owner ?? null])}`;
}

function parseMember(member: string): { id: string; service: string; owner: string | undefined } | undefined {
  try {
    const [id, service, owner] = JSON.parse(member.slice(member.indexOf('|') + 1)) as [string, string, string | null];
    return { id, service, owner: owner ?? undefined };
  } catch {
    return undefined;
  }
}

/** A cursor is the last listed job's index entry, base64url-encoded. */
function decodeCursor(cursor: string): string {
  const member = /^[A-Za-z0-9_-]{1,2048}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!/^[0-9]{16}\|/.test(member) || !parseMember(member)) throw badCursor(cursor);
  return member;
}
