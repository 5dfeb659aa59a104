/** What the bench asks the load client to do, and what it reports back. */
export interface LoadSpec {
  url: string;
  body: string;
  /** A binary body read from this file instead of `body` (multipart uploads). */
  bodyFile?: string;
  /** A JSON array of bodies: requests take them in turn (one counter over all connections), instead of `body`. */
  bodiesFile?: string;
  /** Request headers (default: content-type application/json). */
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
  warmupSec: number;
  /** Measure exactly this many requests instead of `durationSec` (slow endpoints such as OCR). */
  amount?: number;
  /** Unmeasured requests before an `amount` run (instead of `warmupSec`). */
  warmupAmount?: number;
  /** Hard cap on the measured window: the run is stopped, and reports what it got, after this. */
  maxSec?: number;
}

export interface LoadResult {
  connections: number;
  durationSec: number;
  /** Responses received (any status). */
  requests: number;
  ok: number;
  /** 2xx responses per second. */
  reqPerSec: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** CPU the load generator itself burned (it shares the machine with the server). */
  clientCpuSec: number;
}

/** Child → parent: 'measuring' when the measured window starts (after warm-up), then the result. */
export type ClientMessage =
  | { type: 'measuring' }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; error: string };
