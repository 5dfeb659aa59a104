import { fork, type ChildProcess } from 'node:child_process';
import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';
import type { WorkerInfo } from '../dispatch/inference-dispatcher.js';
import type { FromWorker, ToWorker, WorkerErrorKind } from './protocol.js';
import { nodeEntry } from '../config/node-entry.js';

/** The worker exited while a request was in flight; the request may be retried elsewhere. */
export class WorkerCrashedError extends Error {}

/**
 * A request ran past its time limit, so its worker was killed. Not retried: another
 * worker would hang on it too. `limitMs` is the limit; `model` is the ModelRef's name or key.
 */
export class WorkerTimeoutError extends Error {
  constructor(readonly model: string, readonly limitMs: number) {
    super(`model '${model}' did not answer within ${limitMs} ms`);
  }
}

/** A request the worker itself failed (bad input, unloadable model); retrying elsewhere will not help. */
export class WorkerRequestError extends Error {
  constructor(message: string, readonly kind: WorkerErrorKind) {
    super(message);
  }
}

// Workers run what the gateway runs: the compiled JavaScript, or the sources through tsx.
const ENTRY = nodeEntry(import.meta.url, './worker-main');

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  onChunk?: (data: unknown) => void;
  /** Model version key of a run, so a hang can tell its own requests from the others. */
  key?: string;
  /** Armed while a run has a time limit; a streamed chunk re-arms it (the model is making progress). */
  timer?: NodeJS.Timeout;
  /** The model a run is for (its name, else its key), to credit the worker's output to. */
  model?: string;
  /** Where a run's result reports the worker's own run time. */
  timing?: { computeMs?: number };
}

export interface WorkerOptions {
  id: string;
  home: string;
  allowRemoteModels: boolean;
  threads: number;
  memoryBudgetBytes: number;
  /** pino level of the worker's own log lines (CORRAL_LOG_LEVEL); default info. */
  logLevel?: string;
  onReady: () => void;
  onExit: (code: number | null, signal: string | null) => void;
  onStats: (rssBytes: number) => void;
  /** A run passed its time limit: the worker is being killed (onExit follows). */
  onHang?: (model: ModelRef, limitMs: number) => void;
  /**
   * Each line the worker prints, with the models it was running then (or, when
   * idle, the model it ran last). The output still reaches the gateway's own
   * stdout and stderr. Without it the worker writes to them directly.
   */
  onOutput?: (stream: 'stdout' | 'stderr', line: string, models: string[]) => void;
}

/** One worker process and the requests it has in flight. */
export class WorkerHandle {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private idleWaiters: Array<() => void> = [];
  private nextId = 1;
  /** The model of the run that settled last, for output printed after its answer. */
  private lastModel: string | undefined;
  state: WorkerInfo['state'] = 'starting';
  rssBytes = 0;
  loadedModels: string[] = [];

  constructor(readonly options: WorkerOptions) {
    this.child = fork(ENTRY.path, [], {
      execArgv: ENTRY.execArgv,
      serialization: 'advanced', // typed arrays cross as binary, not JSON
      env: {
        ...process.env,
        CORRAL_WORKER_ID: options.id,
        CORRAL_HOME: options.home,
        CORRAL_ALLOW_REMOTE_MODELS: options.allowRemoteModels ? '1' : '0',
        CORRAL_WORKER_THREADS: String(options.threads),
        CORRAL_WORKER_BUDGET_BYTES: String(options.memoryBudgetBytes),
        CORRAL_LOG_LEVEL: options.logLevel ?? process.env.CORRAL_LOG_LEVEL ?? 'info',
      },
      stdio: ['ignore', options.onOutput ? 'pipe' : 'inherit', options.onOutput ? 'pipe' : 'inherit', 'ipc'],
    });
    if (options.onOutput) {
      this.relay(this.child.stdout!, process.stdout, 'stdout', options.onOutput);
      this.relay(this.child.stderr!, process.stderr, 'stderr', options.onOutput);
    }
    this.child.on('message', (message: FromWorker) => this.receive(message));
    this.child.on('error', () => undefined); // 'exit' follows and does the cleanup
    this.child.on('exit', (code, signal) => {
      this.state = 'exited';
      const crash = new WorkerCrashedError(`worker ${options.id} exited (${signal ?? `code ${code}`})`);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(crash);
      }
      this.pending.clear();
      this.wakeIdle();
      options.onExit(code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Resolves once nothing is in flight here (the pool drains a worker it replaced this way). */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (this.pending.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Runs one batch. With `timeoutMs`, a run that has not answered within it (or,
   * once it streams, for `chunkTimeoutMs` after its last chunk) means the model
   * hung: the worker is killed, every in-flight run of the same model version fails
   * with WorkerTimeoutError, and the others fail with WorkerCrashedError so the pool
   * re-sends them elsewhere. `trace` carries the batch's request ids to the worker
   * and receives the worker's own run time of it.
   */
  run(
    model: ModelRef, input: unknown, onChunk?: (data: unknown) => void, timeoutMs?: number, chunkTimeoutMs = timeoutMs,
    trace?: { requestIds?: string[]; timing?: { computeMs?: number }; traceparent?: string; links?: string[] },
  ): Promise<unknown> {
    const requestIds = trace?.requestIds;
    const traceparent = trace?.traceparent;
    return this.request((id) => {
      const message: ToWorker = requestIds ? { type: 'run', id, model, input, requestIds } : { type: 'run', id, model, input };
      // Only with OpenTelemetry on: the batch span the worker's compute span is a child of.
      if (traceparent !== undefined) Object.assign(message, { traceparent, ...(trace?.links ? { links: trace.links } : {}) });
      return message;
    }, onChunk, (p) => {
      p.model = model.name ?? model.key;
      p.timing = trace?.timing;
      if (timeoutMs === undefined || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) return;
      p.key = model.key;
      const limitMs = chunkTimeoutMs !== undefined && chunkTimeoutMs > 0 && Number.isFinite(chunkTimeoutMs) ? chunkTimeoutMs : timeoutMs;
      let windowMs = timeoutMs;
      const arm = () => {
        clearTimeout(p.timer);
        p.timer = setTimeout(() => this.hung(model, limitMs), windowMs);
        windowMs = limitMs;
      };
      arm();
      if (p.onChunk) {
        const relay = p.onChunk;
        p.onChunk = (data) => { arm(); relay(data); };
      } else {
        p.onChunk = arm;
      }
    });
  }

  inspect(runtime: string, path: string): Promise<ModelSignature> {
    return this.request((id) => ({ type: 'inspect', id, runtime, path }));
  }

  unload(key: string): void {
    this.send({ type: 'unload', key });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  info(restarts: number): WorkerInfo {
    return { id: this.options.id, pid: this.pid, state: this.state, outstanding: this.outstanding, rssBytes: this.rssBytes, loadedModels: this.loadedModels, restarts };
  }

  private request<T>(build: (id: number) => ToWorker, onChunk?: (data: unknown) => void, arm?: (p: Pending) => void): Promise<T> {
    if (this.state === 'exited') return Promise.reject(new WorkerCrashedError(`worker ${this.options.id} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: never) => void, reject, onChunk };
      this.pending.set(id, p);
      arm?.(p);
      this.send(build(id));
    });
  }

  /**
   * A run of `model` passed its limit. The worker stops taking work at once and is
   * SIGKILLed (a hung native call cannot be interrupted any other way); the pool
   * replaces it when it exits. Runs of the same model version are answered with the
   * timeout and never retried, since they would hang a healthy worker too; runs of
   * other models were only unlucky, and fail as a crash does, to be re-sent.
   */
  private hung(model: ModelRef, limitMs: number): void {
    if (this.state === 'exited' && this.pending.size === 0) return;
    this.state = 'exited';
    const name = model.name ?? model.key;
    const crash = new WorkerCrashedError(`worker ${this.options.id} was killed: model '${name}' hung on it`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(p.key === model.key ? new WorkerTimeoutError(name, limitMs) : crash);
    }
    this.pending.clear();
    this.wakeIdle();
    this.options.onHang?.(model, limitMs);
    this.child.kill('SIGKILL');
  }

  private send(message: ToWorker): void {
    if (!this.child.connected) return;
    this.child.send(message, (err) => {
      if (!err) return;
      // A broken channel (EPIPE) means the process is dying, though 'exit' may come
      // later: stop routing work here now, or retries would keep picking this worker.
      this.state = 'exited';
      if ('id' in message) this.settle(message.id)?.reject(new WorkerCrashedError(err.message));
    });
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.wakeIdle();
    clearTimeout(p?.timer);
    if (p?.model !== undefined) this.lastModel = p.model;
    return p;
  }

  /**
   * The models in flight on this worker; when it is idle, the one it ran last.
   * While it only checks an upload (inspect), none: that output belongs to no service yet.
   */
  private activeModels(): string[] {
    if (this.pending.size === 0) return this.lastModel === undefined ? [] : [this.lastModel];
    const running = new Set<string>();
    for (const p of this.pending.values()) if (p.model !== undefined) running.add(p.model);
    return [...running];
  }

  /** Copies a worker's output stream to the gateway's and hands each whole line to `onOutput`. */
  private relay(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, stream: 'stdout' | 'stderr', onOutput: NonNullable<WorkerOptions['onOutput']>): void {
    let partial = '';
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => {
      to.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      // A line without an end is cut into pieces rather than held without bound.
      if (partial.length > 65_536) lines.push(partial), partial = '';
      if (lines.length > 0) {
        const models = this.activeModels();
        for (const line of lines) onOutput(stream, line.replace(/\r$/, ''), models);
      }
    });
    from.on('end', () => {
      if (partial !== '') onOutput(stream, partial, this.activeModels());
      partial = '';
    });
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.state = 'ready';
        this.options.onReady();
        return;
      case 'stats':
        this.rssBytes = message.rssBytes;
        this.loadedModels = message.loaded;
        this.options.onStats(message.rssBytes);
        return;
      case 'chunk':
        this.pending.get(message.id)?.onChunk?.(message.data);
        return;
      case 'result': {
        const p = this.settle(message.id);
        if (p?.timing && message.computeMs !== undefined) p.timing.computeMs = message.computeMs;
        p?.resolve(message.output as never);
        return;
      }
      case 'inspected':
        this.settle(message.id)?.resolve(message.signature as never);
        return;
      case 'error':
        this.settle(message.id)?.reject(new WorkerRequestError(message.message, message.kind));
        return;
    }
  }
}
