import type { ModelRef, ModelSignature } from '../runtimes/runtime.js';

/** Messages between the gateway and a worker process (IPC, structured clone). */
export type ToWorker =
  | {
    type: 'run'; id: number; model: ModelRef; input: unknown; requestIds?: string[];
    /** With OpenTelemetry on: the W3C traceparent of the batch's span, and those of the batch's other requests (links). */
    traceparent?: string; links?: string[];
  }
  | { type: 'inspect'; id: number; runtime: string; path: string }
  | { type: 'unload'; key: string };

export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'chunk'; id: number; data: unknown }
  | { type: 'result'; id: number; output: unknown; computeMs?: number }
  | { type: 'inspected'; id: number; signature: ModelSignature }
  | { type: 'error'; id: number; message: string; kind: WorkerErrorKind }
  | { type: 'stats'; rssBytes: number; loaded: string[] };

/**
 * `load`: the model file could not be loaded; `input`: the model rejected the
 * input (a client error); `internal`: anything else.
 */
export type WorkerErrorKind = 'load' | 'input' | 'internal';
