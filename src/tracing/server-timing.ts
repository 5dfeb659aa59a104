import type { RequestTrace } from './request-trace.js';

const ms = (v: number) => (Math.round(v * 1000) / 1000).toString();

/**
 * The Server-Timing header of a request that went through a batcher: how long
 * it queued, the rows of the batch it rode in, the worker's own run time of that
 * batch, and the whole request, in ms:
 * `queue;dur=1.2, batch;desc="4 rows", compute;dur=3.4, total;dur=5.1`.
 * Undefined while the request has not been dispatched.
 */
export function serverTiming(trace: RequestTrace, totalMs: number): string | undefined {
  if (trace.queueMs < 0) return undefined;
  let header = `queue;dur=${ms(trace.queueMs)}, batch;desc="${trace.batchRows} ${trace.batchRows === 1 ? 'row' : 'rows'}"`;
  if (trace.computeMs >= 0) header += `, compute;dur=${ms(trace.computeMs)}`;
  return `${header}, total;dur=${ms(totalMs)}`;
}
