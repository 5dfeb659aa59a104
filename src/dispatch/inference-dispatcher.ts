import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';

export interface WorkerInfo {
  id: string;
  pid: number | undefined;
  state: 'starting' | 'ready' | 'exited';
  outstanding: number;
  rssBytes: number;
  loadedModels: string[];
  restarts: number;
  /** Remote workers only: where they run and what they serve. */
  host?: string;
  services?: string[];
  concurrency?: number;
  processed?: number;
  lastSeen?: string;
}

/**
 * A batch's time limit. `deadline` (epoch ms) is when the client of the batch's
 * last request will have been answered 504 TIMEOUT: nothing of it runs past it.
 * `timeoutMs` is the model's limit (CORRAL_REQUEST_TIMEOUT_MS or `timeout_ms`),
 * which a streamed chunk restarts. Either falls back to the dispatcher's default.
 */
export interface RunLimits {
  timeoutMs?: number;
  deadline?: number;
  /** Ids of the requests in the batch, for the worker's log lines about it. */
  requestIds?: string[];
  /**
   * OpenTelemetry (only when tracing is on): the W3C traceparent of the batch's
   * span, the parent of the worker's compute span, and the traceparents of the
   * batch's other requests, which the compute span links to.
   */
  traceparent?: string;
  links?: string[];
  /** Filled in by the dispatcher: the worker's own run time of the batch (ms), when the worker reports it. */
  timing?: { computeMs?: number };
}

/**
 * Where batches go to be run. The in-process default is the local worker pool;
 * a Redis/BullMQ dispatcher for workers on other machines implements the same
 * interface, so the batcher and the APIs do not change.
 */
export interface InferenceDispatcher {
  /** Runs one batch within `limits`; `onChunk` receives streamed partial results (text generation). */
  run(model: ModelRef, input: unknown, onChunk?: (data: unknown) => void, limits?: RunLimits): Promise<unknown>;
  /** Validates a model file by loading it in a worker, returning its signature. */
  inspect(runtime: string, path: string): Promise<ModelSignature>;
  /** Drops a model version from every worker's cache (after delete or re-upload). */
  unload(key: string): void;
  /** How many batches it makes sense to have in flight at once for a model or service. */
  capacity(name?: string): number;
  isReady(): boolean;
  workers(): WorkerInfo[];
  close(): Promise<void>;
}
