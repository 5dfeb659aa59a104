import type { BatchingConfig } from '../config/config.js';
import { CorralError } from '../errors/index.js';
import type { BatchCodec } from './batch-codec.js';

interface Queued<I, O> {
  input: I;
  rows: number;
  key: string;
  enqueuedAt: number;
  /** Runs alone: set after its batch was rejected, to find out which member was at fault. */
  solo?: boolean;
  /** Receives streamed partial output; such a request always runs alone. */
  onChunk?: (data: unknown) => void;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

export interface BatcherOptions<I, O> {
  codec: BatchCodec<I, O>;
  execute: (input: I, onChunk?: (data: unknown) => void) => Promise<O>;
  /** Read on every scheduling decision, so a config change applies at once. */
  config: () => BatchingConfig;
  /** Batches of this model allowed in flight at once (one per worker keeps every worker busy). */
  capacity: () => number;
  /** Past this many queued rows new requests get QUEUE_FULL (429) instead of unbounded memory. */
  maxQueuedRows: number;
  onQueueDepth?: (rows: number) => void;
  onBatch?: (rows: number) => void;
}

/**
 * Triton-style dynamic batching for one model. Requests queue while every
 * allowed batch is in flight; when a slot frees, the compatible requests at the
 * head (up to max_batch_size rows) run as one batch. A partial batch waits at
 * most max_queue_delay_microseconds for company, and never while that delay is 0.
 */
export class DynamicBatcher<I, O> {
  private readonly queue: Queued<I, O>[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Callers of drained(), woken when nothing is queued or running. */
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BatcherOptions<I, O>) {}

  submit(input: I, onChunk?: (data: unknown) => void): Promise<O> {
    const { codec } = this.options;
    const rows = codec.rows(input);
    if (this.queuedRows + rows > this.options.maxQueuedRows && this.queue.length > 0) {
      return Promise.reject(new CorralError('QUEUE_FULL', `The model has ${this.queuedRows} rows queued, the limit; retry shortly.`, { headers: { 'retry-after': '1' } }));
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, rows, key: codec.key(input), enqueuedAt: performance.now(), solo: onChunk !== undefined, onChunk, resolve, reject });
      this.queuedRows += rows;
      this.pump();
    });
  }

  /**
   * Takes a request out of the queue before its batch is dispatched (its client
   * has gone): `input` is the value given to submit, whose promise rejects with
   * `err`. It never runs. False when it is not queued (already dispatched, or answered).
   */
  withdraw(input: I, err: unknown): boolean {
    const i = this.queue.findIndex((q) => q.input === input);
    if (i < 0) return false;
    const [q] = this.queue.splice(i, 1);
    this.queuedRows -= q!.rows;
    q!.reject(err);
    this.pump();
    return true;
  }

  get depth(): number {
    return this.queuedRows;
  }

  /** Resolves once every request submitted so far has been answered (a retired version waits for this). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const { maxBatchSize, maxQueueDelayMicroseconds } = this.options.config();
    while (this.queue.length > 0 && this.inFlight < this.options.capacity()) {
      const batch = this.takeBatch(Math.max(1, maxBatchSize));
      const rows = batch.reduce((n, q) => n + q.rows, 0);
      const waitedUs = (performance.now() - batch[0]!.enqueuedAt) * 1000;
      const full = rows >= maxBatchSize;
      if (!full && maxQueueDelayMicroseconds > 0 && waitedUs < maxQueueDelayMicroseconds) {
        this.schedule((maxQueueDelayMicroseconds - waitedUs) / 1000);
        break;
      }
      this.dispatch(batch, rows);
    }
    // A wait timer outliving its queue would only hold the process open (up to the delay) at shutdown.
    if (this.queue.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.options.onQueueDepth?.(this.queuedRows);
    if (this.queue.length === 0 && this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** The head request plus following compatible requests (same key, fitting), within the row limit; not yet removed. */
  private takeBatch(maxRows: number): Queued<I, O>[] {
    const head = this.queue[0]!;
    const batch = [head];
    const inputs = [head.input];
    const { codec } = this.options;
    let rows = head.rows;
    for (let i = 1; i < this.queue.length && rows < maxRows && !head.solo; i++) {
      const q = this.queue[i]!;
      if (!q.solo && q.key === head.key && rows + q.rows <= maxRows && (codec.fits?.(inputs, q.input) ?? true)) {
        batch.push(q);
        inputs.push(q.input);
        rows += q.rows;
      }
    }
    return batch;
  }

  private dispatch(batch: Queued<I, O>[], rows: number): void {
    const taken = new Set(batch);
    for (let i = this.queue.length - 1; i >= 0; i--) if (taken.has(this.queue[i]!)) this.queue.splice(i, 1);
    this.queuedRows -= rows;
    this.inFlight++;
    this.options.onBatch?.(rows);
    const { codec, execute } = this.options;
    const input = batch.length === 1 ? batch[0]!.input : codec.concat(batch.map((q) => q.input));
    execute(input, batch.length === 1 ? batch[0]!.onChunk : undefined)
      .then((output) => {
        const parts = batch.length === 1 ? [output] : codec.split(output, batch.map((q) => q.rows), batch.map((q) => q.input));
        batch.forEach((q, i) => q.resolve(parts[i]!));
      })
      .catch((err: unknown) => {
        // One bad request must not fail the requests that happened to share its batch.
        // They go back to the head of the queue to run alone, still within the in-flight limit.
        if (batch.length > 1 && err instanceof CorralError && err.code === 'INFERENCE_REJECTED') {
          for (const q of batch) q.solo = true;
          this.queue.unshift(...batch);
          this.queuedRows += rows;
        } else batch.forEach((q) => q.reject(err));
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, delayMs));
  }
}
