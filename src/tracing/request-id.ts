import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header a request id arrives in and is answered with. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What an incoming X-Request-Id may be: 1-128 characters, letters, digits and `._:-`; anything else is replaced. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** W3C Trace Context: version-traceid-parentid-flags, lower-case hex. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/** The trace id of a valid `traceparent` header (W3C Trace Context), else undefined. */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 512) return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_PARENT) return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (m[1] === '00' && traceparent.trim().length !== 55) return undefined;
  return m[2];
}

/** A fresh id: 32 lower-case hex digits, so it can double as a W3C trace id. */
export function newRequestId(): string {
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

/**
 * The id of an incoming request: its own `X-Request-Id` when that is safe to
 * echo and log (bounded, plain characters), else the trace id of a valid
 * `traceparent`, else a new one.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  return traceIdOf(headers.traceparent) ?? newRequestId();
}
