import type { Logger } from 'pino';
import { CorralError } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher, RunLimits, WorkerInfo } from '../dispatch/inference-dispatcher.js';
import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';
import { WorkerCrashedError, WorkerHandle, WorkerRequestError, WorkerTimeoutError } from './worker-handle.js';

export interface WorkerPoolOptions {
  size: number;
  /** CORRAL_HOME, passed to workers (hub model cache lives under it). */
  home: string;
  allowRemoteModels: boolean;
  threadsPerWorker: number;
  memoryBudgetBytes: number;
  /** pino level of the workers' own log lines; default CORRAL_LOG_LEVEL, else info. */
  logLevel?: string;
  /** How long a request waits for a worker to become ready (e.g. during a restart). */
  readyTimeoutMs: number;
  /** Default limit on one run (CORRAL_REQUEST_TIMEOUT_MS); default readyTimeoutMs, which is that same setting. */
  requestTimeoutMs?: number;
  metrics: CorralMetrics;
  logger: Logger;
  /** Hears of each worker's changes: started, ready, exited, models loaded or unloaded (GET /api/events). */
  events?: EventHub;
  /**
   * Each line a worker prints, with the models it was running (or had just run)
   * then. Without it, workers write straight to the gateway's stdout and stderr.
   */
  onOutput?: (stream: 'stdout' | 'stderr', line: string, models: string[]) => void;
}

/**
 * The local modelhosts: N worker processes, each request sent to the ready worker
 * with the fewest requests outstanding. A worker that dies is restarted, and
 * the requests it held are re-sent to another worker, so none is lost.
 */
export class WorkerPool implements InferenceDispatcher {
  private readonly slots: WorkerHandle[] = [];
  private readonly restarts: number[] = [];
  /** Deaths in a row of each slot's worker within 2 s of its start (the restart back-off). */
  private readonly quickDeaths: number[] = [];
  private readonly waiters = new Set<() => void>();
  /** Workers outside the slots during restartAll: replacements starting, old workers draining. */
  private readonly transient = new Set<WorkerHandle>();
  private restarting: Promise<Array<{ id: string; oldPid?: number; pid?: number }>> | undefined;
  private closing = false;

  constructor(private readonly options: WorkerPoolOptions) {
    for (let i = 0; i < options.size; i++) {
      this.restarts.push(0);
      this.quickDeaths.push(0);
      this.slots.push(this.spawn(i));
    }
  }

  /** Resolves when every worker has started; the server can answer before that. */
  async started(): Promise<void> {
    while (this.slots.some((w) => w.state !== 'ready')) await this.nextReadyEvent(this.options.readyTimeoutMs);
  }

  /**
   * Runs one batch on the least busy ready worker. `limits.deadline` (default: now
   * plus `limits.timeoutMs`, default CORRAL_REQUEST_TIMEOUT_MS) bounds the whole
   * run, waiting for a worker and retries included: past it the batch is not sent,
   * or the worker running it is killed and replaced, and the batch fails with TIMEOUT.
   */
  async run(model: ModelRef, input: unknown, onChunk?: (data: unknown) => void, limits?: RunLimits): Promise<unknown> {
    // A request is retried only when its worker died; more attempts than
    // workers means the model itself kills workers, and we stop feeding it.
    const attempts = Math.max(3, this.options.size + 1);
    const limitMs = limits?.timeoutMs ?? this.options.requestTimeoutMs ?? this.options.readyTimeoutMs;
    const deadline = limits?.deadline ?? (limitMs > 0 ? Date.now() + limitMs : Infinity);
    let streamed = false;
    const relay = onChunk && ((data: unknown) => { streamed = true; onChunk(data); });
    for (let attempt = 1; ; attempt++) {
      try {
        const worker = await this.pick(deadline);
        const left = deadline - Date.now();
        // Its client has been answered 504 already: the batch must not run.
        if (!worker || left <= 0) throw new WorkerTimeoutError(model.name ?? model.key, limitMs);
        return await worker.run(model, input, relay, Number.isFinite(left) ? left : undefined, limitMs, limits);
      } catch (err) {
        // A stream the client has partly seen cannot be replayed without duplicating text.
        if (err instanceof WorkerCrashedError && attempt < attempts && !this.closing && !streamed) {
          this.options.metrics.retries.inc({ model: model.key });
          continue;
        }
        throw this.translate(err, model.name ?? model.key, attempt);
      }
    }
  }

  async inspect(runtime: string, path: string): Promise<ModelSignature> {
    for (let attempt = 1; ; attempt++) {
      const worker = (await this.pick())!;
      try {
        return await worker.inspect(runtime, path);
      } catch (err) {
        // A file that crashes the worker while loading is as invalid as one that fails to load.
        if (err instanceof WorkerCrashedError && attempt < 2) continue;
        throw new CorralError('INVALID_MODEL_FILE', `The file is not a valid model: ${(err as Error).message}`);
      }
    }
  }

  unload(key: string): void {
    for (const w of this.slots) w.unload(key);
  }

  capacity(): number {
    return this.options.size;
  }

  isReady(): boolean {
    return this.slots.some((w) => w.state === 'ready');
  }

  workers(): WorkerInfo[] {
    return this.slots.map((w, i) => w.info(this.restarts[i]!));
  }

  /** Kills one worker as a crash would (tests, and `corral` chaos checks). */
  killWorker(index: number, signal: NodeJS.Signals = 'SIGKILL'): number | undefined {
    const w = this.slots[index];
    w?.kill(signal);
    return w?.pid;
  }

  /**
   * Replaces every worker with a fresh process, one at a time (Neural Energy's SAFE_KILL):
   * a replacement takes over its slot once ready, and the old worker gets no new work,
   * finishes what it holds, then exits. Nothing queued or in flight is dropped, and
   * capacity never falls by more than one worker; models load again on first use.
   * Calls during a restart share it. Resolves with each slot's old and new pid.
   */
  restartAll(): Promise<Array<{ id: string; oldPid?: number; pid?: number }>> {
    this.restarting ??= (async () => {
      const done: Array<{ id: string; oldPid?: number; pid?: number }> = [];
      for (let i = 0; i < this.slots.length && !this.closing; i++) {
        const fresh = await this.startReplacement(i);
        // Read the slot now: a crash meanwhile may have put another worker there.
        const old = this.slots[i]!;
        this.slots[i] = fresh;
        this.transient.delete(fresh);
        this.transient.add(old);
        this.updateReadyGauge();
        this.publish(fresh, i);
        this.wake();
        await old.idle();
        old.kill();
        this.transient.delete(old);
        done.push({ id: fresh.options.id, oldPid: old.pid, pid: fresh.pid });
      }
      return done;
    })().finally(() => { this.restarting = undefined; });
    return this.restarting;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.transient) w.kill();
    const exits = this.slots.filter((w) => w.state !== 'exited').map((w) => new Promise<void>((r) => {
      const prev = w.options.onExit;
      w.options.onExit = (c, s) => { prev(c, s); r(); };
      w.kill();
    }));
    await Promise.all(exits);
  }

  /** A new worker for slot `index`, resolved once ready; rejected if it exits or is not ready within readyTimeoutMs. */
  private startReplacement(index: number): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        handle.kill('SIGKILL');
        reject(new CorralError('NO_WORKERS', `The replacement of worker-${index} was not ready within ${this.options.readyTimeoutMs} ms; the old worker keeps running.`));
      }, this.options.readyTimeoutMs);
      const handle = this.spawn(index, {
        ready: () => { clearTimeout(timer); resolve(handle); },
        failed: () => {
          clearTimeout(timer);
          this.transient.delete(handle);
          reject(new CorralError('NO_WORKERS', `The replacement of worker-${index} exited before it was ready; the old worker keeps running.`));
        },
      });
      this.transient.add(handle);
    });
  }

  /**
   * Starts the worker of slot `index`. A `replacement` (restartAll) is not in the slot
   * yet: it reports its start to the caller instead, and once replaced (not in its slot
   * any more) a worker's exit is planned, not a crash to restart.
   */
  private spawn(index: number, replacement?: { ready: () => void; failed: () => void }): WorkerHandle {
    const { metrics, logger } = this.options;
    const id = `worker-${index}`;
    const startedAt = Date.now();
    let loaded = '';
    const handle: WorkerHandle = new WorkerHandle({
      id,
      home: this.options.home,
      allowRemoteModels: this.options.allowRemoteModels,
      threads: this.options.threadsPerWorker,
      memoryBudgetBytes: this.options.memoryBudgetBytes,
      logLevel: this.options.logLevel,
      onOutput: this.options.onOutput,
      onReady: () => {
        if (this.slots[index] !== handle) return replacement?.ready();
        this.updateReadyGauge();
        this.publish(handle, index);
        this.wake();
      },
      onStats: (rss) => {
        if (this.slots[index] !== handle) return;
        metrics.workerRss.set({ worker: id }, rss);
        // Memory changes all the time; only a change of what is loaded is news.
        if (handle.loadedModels.join('\n') === loaded) return;
        loaded = handle.loadedModels.join('\n');
        this.publish(handle, index);
      },
      onHang: (model, limitMs) => {
        this.updateReadyGauge();
        if (this.slots[index] === handle) this.publish(handle, index);
        logger.warn({ worker: id, model: model.name ?? model.key, limitMs }, 'a model hung past its time limit; killing its worker');
      },
      onExit: (code, signal) => {
        // Replaced (restartAll): a planned exit, or a replacement that died before it was ready.
        if (this.slots[index] !== handle) return replacement?.failed();
        this.updateReadyGauge();
        if (!this.closing) this.restarts[index]!++;
        this.publish(handle, index);
        if (this.closing) return;
        metrics.workerRestarts.inc();
        logger.warn({ worker: id, code, signal }, 'worker exited; restarting it');
        // A worker that dies right after starting is backed off so a broken install cannot spin;
        // the back-off grows with such deaths in a row only, not with every crash since boot.
        const quick = Date.now() - startedAt < 2000;
        this.quickDeaths[index] = quick ? this.quickDeaths[index]! + 1 : 0;
        const delay = quick ? Math.min(5000, 250 * this.quickDeaths[index]!) : 0;
        setTimeout(() => {
          // restartAll may have filled the slot meanwhile.
          if (!this.closing && this.slots[index] === handle) this.slots[index] = this.spawn(index);
        }, delay).unref();
        this.wake();
      },
    });
    if (!replacement) this.publish(handle, index);
    return handle;
  }

  private publish(handle: WorkerHandle, index: number): void {
    this.options.events?.publish({ type: 'worker', worker: handle.info(this.restarts[index]!) });
  }

  /** The least busy ready worker, waiting for one up to readyTimeoutMs; undefined once `until` (epoch ms) has passed. */
  private async pick(until = Infinity): Promise<WorkerHandle | undefined> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    for (;;) {
      if (this.closing) throw new CorralError('NO_WORKERS', 'The server is shutting down.');
      let best: WorkerHandle | undefined;
      for (const w of this.slots) if (w.state === 'ready' && (!best || w.outstanding < best.outstanding)) best = w;
      if (best) return best;
      const now = Date.now();
      if (now >= until) return undefined;
      const left = deadline - now;
      if (left <= 0) throw new CorralError('NO_WORKERS', `No worker became ready within ${this.options.readyTimeoutMs} ms; check the server log for worker start errors.`);
      await this.nextReadyEvent(Math.min(left, until - now));
    }
  }

  private nextReadyEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private updateReadyGauge(): void {
    this.options.metrics.workersReady.set(this.slots.filter((w) => w.state === 'ready').length);
  }

  private translate(err: unknown, name: string, attempts: number): Error {
    if (err instanceof CorralError) return err;
    if (err instanceof WorkerTimeoutError) return timeoutError(name, err.limitMs);
    if (err instanceof WorkerRequestError) {
      if (err.kind === 'input') return new CorralError('INFERENCE_REJECTED', `Model '${name}' rejected the input: ${err.message}`);
      if (err.kind === 'load') return new CorralError('INFERENCE_FAILED', `Model '${name}' could not be loaded: ${err.message}`);
      return new CorralError('INFERENCE_FAILED', `Model '${name}' failed: ${err.message}`);
    }
    if (err instanceof WorkerCrashedError && this.closing) {
      return new CorralError('NO_WORKERS', 'The server is shutting down; the request was not finished.');
    }
    if (err instanceof WorkerCrashedError) {
      return new CorralError('INFERENCE_FAILED', `Model '${name}' crashed its worker ${attempts} times; it was not run again.`);
    }
    return err as Error;
  }
}

/** TIMEOUT for a batch that ran past its limit (InferenceService words it for the client). */
function timeoutError(name: string, limitMs: number): CorralError {
  return new CorralError('TIMEOUT',
    `Model '${name}' did not answer within its time limit of ${limitMs} ms; the worker running it was restarted. ` +
    'Raise the limit with CORRAL_REQUEST_TIMEOUT_MS or the model\'s timeout_ms.');
}
