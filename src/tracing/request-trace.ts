import type { Socket } from 'node:net';
import type { OtelSpan } from './otel.js';

const nothing = () => undefined;

/**
 * What the request path learns about one request, for its logs, its
 * Server-Timing header and the metrics: its id (carried to the worker that runs
 * it), and once its batch is dispatched the time it queued, the batch's rows and
 * the worker's own run time of the batch. Plain fields: setting them is all the
 * hot path pays.
 */
export class RequestTrace {
  /** ms in the batcher before dispatch; -1 until dispatched. */
  queueMs = -1;
  /** Rows of the batch the request rode in. */
  batchRows = 0;
  /** The worker's run time of that batch, ms, as the worker measured it; -1 if unknown. */
  computeMs = -1;
  /** Its OpenTelemetry server span, when tracing is on (the parent of its queue and batch spans). */
  span: OtelSpan | null = null;

  /** `socket`: the client's connection; its closing before the answer means the client has gone. */
  constructor(readonly id: string, private readonly socket?: Socket | null) {}

  /** The client's connection is already closed. */
  get clientGone(): boolean {
    return this.socket?.destroyed === true;
  }

  /** Calls `fn` if the client's connection closes; returns the function that stops watching. */
  onClientGone(fn: () => void): () => void {
    const socket = this.socket;
    if (!socket) return nothing;
    socket.once('close', fn);
    return () => { socket.removeListener('close', fn); };
  }

  /** Copies a batch's timing (from a service host) into this trace. */
  adopt(timing: BatchTiming | undefined): void {
    if (!timing) return;
    this.queueMs = timing.queueMs;
    this.batchRows = timing.batchRows;
    this.computeMs = timing.computeMs;
  }

  /** The timing fields alone (they cross to the gateway that forwarded the request). */
  timing(): BatchTiming | undefined {
    return this.queueMs < 0 ? undefined : { queueMs: this.queueMs, batchRows: this.batchRows, computeMs: this.computeMs };
  }
}

export interface BatchTiming {
  queueMs: number;
  batchRows: number;
  computeMs: number;
}
