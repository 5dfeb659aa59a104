import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';
import type { WorkerInfo } from '../queue/dispatcher.js';
import type { FromWorker, ToWorker, WorkerErrorKind } from './protocol.js';

/** The worker exited while a request was in flight; the request may be retried elsewhere. */
export class WorkerCrashedError extends Error {}

/** A request the worker itself failed (bad input, unloadable model); retrying elsewhere will not help. */
export class WorkerRequestError extends Error {
  constructor(message: string, readonly kind: WorkerErrorKind) {
    super(message);
  }
}

const ENTRY = new URL('./worker-main' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);
// Workers run the same TypeScript sources as the gateway, through tsx's loader.
const EXEC_ARGV = ENTRY.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  onChunk?: (data: unknown) => void;
}

export interface WorkerOptions {
  id: string;
  home: string;
  allowRemoteModels: boolean;
  threads: number;
  memoryBudgetBytes: number;
  onReady: () => void;
  onExit: (code: number | null, signal: string | null) => void;
  onStats: (rssBytes: number) => void;
}

/** One worker process and the requests it has in flight. */
export class WorkerHandle {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  state: WorkerInfo['state'] = 'starting';
  rssBytes = 0;
  loadedModels: string[] = [];

  constructor(readonly options: WorkerOptions) {
    this.child = fork(fileURLToPath(ENTRY), [], {
      execArgv: EXEC_ARGV,
      serialization: 'advanced', // typed arrays cross as binary, not JSON
      env: {
        ...process.env,
        CORRAL_WORKER_ID: options.id,
        CORRAL_HOME: options.home,
        CORRAL_ALLOW_REMOTE_MODELS: options.allowRemoteModels ? '1' : '0',
        CORRAL_WORKER_THREADS: String(options.threads),
        CORRAL_WORKER_BUDGET_BYTES: String(options.memoryBudgetBytes),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message: FromWorker) => this.receive(message));
    this.child.on('error', () => undefined); // 'exit' follows and does the cleanup
    this.child.on('exit', (code, signal) => {
      this.state = 'exited';
      const crash = new WorkerCrashedError(`worker ${options.id} exited (${signal ?? `code ${code}`})`);
      for (const p of this.pending.values()) p.reject(crash);
      this.pending.clear();
      options.onExit(code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get outstanding(): number {
    return this.pending.size;
  }

  run(model: ModelRef, input: unknown, onChunk?: (data: unknown) => void): Promise<unknown> {
    return this.request((id) => ({ type: 'run', id, model, input }), onChunk);
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

  private request<T>(build: (id: number) => ToWorker, onChunk?: (data: unknown) => void): Promise<T> {
    if (this.state === 'exited') return Promise.reject(new WorkerCrashedError(`worker ${this.options.id} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject, onChunk });
      this.send(build(id));
    });
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
    return p;
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
      case 'result':
        this.settle(message.id)?.resolve(message.output as never);
        return;
      case 'inspected':
        this.settle(message.id)?.resolve(message.signature as never);
        return;
      case 'error':
        this.settle(message.id)?.reject(new WorkerRequestError(message.message, message.kind));
        return;
    }
  }
}
