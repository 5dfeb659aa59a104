import { randomUUID } from 'node:crypto';
import { CorralError } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import { JobListeners } from './job-listeners.js';
import { badCursor, isFinished, matches, requestOf, type JobFilter, type JobPage, type JobQueue, type JobSpec, type JobView } from './job.js';
import type { JobOutcome } from './execute-job.js';

export interface InProcessJobQueueOptions {
  execute: (spec: JobSpec) => Promise<JobOutcome>;
  /** Jobs run at once; the rest wait in priority order. */
  concurrency: number;
  /** Queued jobs past which add() answers 429. */
  maxQueued: number;
  /** How long a finished job's result is kept. */
  resultTtlMs: number;
  onFinished?: (job: JobView, spec: JobSpec) => void;
  /** Hears of every change of every job, and of finished jobs forgotten (GET /api/events). */
  events?: EventHub;
}

interface Entry {
  view: JobView;
  spec: JobSpec;
  seq: number;
}

/**
 * Async jobs in the gateway's memory: the single-machine default, with no
 * Redis. Same contract as the BullMQ queue; jobs do not survive a restart.
 */
export class InProcessJobQueue implements JobQueue {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private readonly listeners = new JobListeners();
  private running = 0;
  private seq = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: InProcessJobQueueOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, options.resultTtlMs));
    this.sweeper.unref();
  }

  async add(spec: JobSpec): Promise<JobView> {
    if (this.waiting.length >= this.options.maxQueued) {
      throw new CorralError('QUEUE_FULL', `${this.waiting.length} jobs are queued, the limit; retry shortly.`, { headers: { 'retry-after': '1' } });
    }
    const view: JobView = { id: randomUUID(), service: spec.service, owner: spec.owner, state: 'queued', progress: 0, attempts: 0, request: requestOf(spec), created_at: new Date().toISOString() };
    const entry = { view, spec, seq: this.seq++ };
    this.jobs.set(view.id, entry);
    this.waiting.push(entry);
    this.options.events?.publish({ type: 'job', job: { ...view } });
    // BullMQ's order: jobs without a priority first, then priority 1, 2, ...; ties by arrival.
    this.waiting.sort((a, b) => (a.spec.priority ?? 0) - (b.spec.priority ?? 0) || a.seq - b.seq);
    this.pump();
    return { ...view };
  }

  async get(id: string): Promise<JobView | undefined> {
    const entry = this.jobs.get(id);
    return entry && { ...entry.view };
  }

  async cancel(id: string): Promise<JobView> {
    const entry = this.jobs.get(id);
    if (!entry) throw new CorralError('JOB_NOT_FOUND', `No job '${id}'.`);
    if (entry.view.state !== 'queued') {
      throw new CorralError('JOB_NOT_CANCELLABLE', `Job '${id}' is ${entry.view.state}; only queued jobs can be cancelled.`);
    }
    this.waiting.splice(this.waiting.indexOf(entry), 1);
    this.update(entry, { state: 'cancelled', finished_at: new Date().toISOString() });
    return { ...entry.view };
  }

  async list(filter: JobFilter): Promise<JobPage> {
    // The cursor is the arrival number of the previous page's last job; the map keeps arrival order.
    if (filter.cursor !== undefined && !/^[0-9]{1,15}$/.test(filter.cursor)) throw badCursor(filter.cursor);
    const before = filter.cursor === undefined ? Infinity : Number(filter.cursor);
    const entries = [...this.jobs.values()];
    const page: Entry[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.seq >= before || !matches(entry.view, filter)) continue;
      if (page.length === filter.limit) return { jobs: page.map((e) => ({ ...e.view })), next: String(page.at(-1)!.seq) };
      page.push(entry);
    }
    return { jobs: page.map((e) => ({ ...e.view })) };
  }

  subscribe(id: string, listener: (job: JobView) => void): () => void {
    return this.listeners.subscribe(id, listener);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      this.running++;
      this.update(entry, { state: 'active', progress: 50, attempts: 1, started_at: new Date().toISOString() });
      this.options.execute(entry.spec)
        .then((outcome) => this.update(entry, outcome.ok
          ? { state: 'completed', progress: 100, result: outcome.body, status_code: outcome.statusCode }
          : { state: 'failed', progress: 100, error: outcome.error, status_code: outcome.statusCode }))
        .catch((err: Error) => this.update(entry, { state: 'failed', progress: 100, error: err.message }))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private update(entry: Entry, patch: Partial<JobView>): void {
    Object.assign(entry.view, patch);
    if (isFinished(entry.view.state)) {
      entry.view.finished_at ??= new Date().toISOString();
      this.options.onFinished?.({ ...entry.view }, entry.spec);
    }
    this.listeners.emit(entry.view);
    this.options.events?.publish({ type: 'job', job: { ...entry.view } });
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.resultTtlMs;
    for (const [id, entry] of this.jobs) {
      if (entry.view.finished_at && Date.parse(entry.view.finished_at) < cutoff) {
        this.jobs.delete(id);
        this.listeners.forget(id);
        this.options.events?.publish({ type: 'job-deleted', job: { ...entry.view } });
      }
    }
  }
}
