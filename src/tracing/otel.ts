/**
 * OpenTelemetry, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. This module loads nothing of
 * OpenTelemetry: the SDK (`otel-sdk.ts`) is imported dynamically by startOtel,
 * only when tracing is on. Everything on the request path asks `tracing.otel`,
 * which stays null when it is off: a property check is all it costs.
 */
import type { Span } from '@opentelemetry/api';

/** A server span as the gateway holds it: the span, and its W3C traceparent for children elsewhere. */
export type OtelSpan = Span;

/** What the gateway and workers do with OpenTelemetry (implemented in otel-sdk.ts). */
export interface Otel {
  /** The SERVER span of an incoming HTTP request, a child of its `traceparent` when it has a valid one. */
  serverSpan(req: ServerRequestInfo): OtelSpan;
  /** Ends a server span with the response's route (its name becomes `METHOD route`) and status. */
  endServerSpan(span: OtelSpan, method: string, route: string | undefined, status: number): void;
  /** A span that already happened (a request's queue wait), from `startMs` to `endMs` (performance.now()). */
  pastSpan(parent: OtelSpan, name: string, startMs: number, endMs: number, attributes: Attributes): void;
  /** A span begun now under `parent`, linked to `links`; end it with endSpan. */
  childSpan(parent: OtelSpan, name: string, attributes: Attributes, links: OtelSpan[]): OtelSpan;
  /** A span begun now under a remote parent (a W3C traceparent from another process), linked to `links` (traceparents). */
  remoteChildSpan(traceparent: string, name: string, attributes: Attributes, links: string[]): OtelSpan;
  /** Ends a span; an error marks it failed. */
  endSpan(span: OtelSpan, err?: unknown): void;
  /** The W3C traceparent naming a span, to carry it to another process. */
  traceparentOf(span: OtelSpan): string;
  /** Exports what is left and stops. */
  shutdown(): Promise<void>;
}

export type Attributes = Record<string, string | number | boolean | string[]>;

export interface ServerRequestInfo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  localPort?: number;
  remoteAddress?: string;
  httpVersion?: string;
}

/** The live OpenTelemetry of this process; null when tracing is off (the only thing hot paths look at). */
export const tracing: { otel: Otel | null } = { otel: null };

let sdkLoaded = false;
/** Whether the SDK module has been loaded in this process (never, with tracing off). */
export function otelSdkLoaded(): boolean {
  return sdkLoaded;
}

/** Tracing is on: an OTLP endpoint is configured and the SDK is not disabled. */
export function otelEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

let users = 0;
let starting: Promise<Otel | null> | undefined;

/**
 * Starts OpenTelemetry for this process as `service` (corral-gateway or
 * corral-worker) when it is enabled; each start is matched by a stopOtel.
 * Several gateways in one process (tests) share one SDK.
 */
export async function startOtel(service: string, env: NodeJS.ProcessEnv = process.env): Promise<Otel | null> {
  if (!otelEnabled(env)) return null;
  users++;
  starting ??= import('./otel-sdk.js').then(({ createOtel }) => {
    sdkLoaded = true;
    return (tracing.otel = createOtel(service));
  });
  return starting;
}

/** Flushes and stops OpenTelemetry once its last user stops it. */
export async function stopOtel(): Promise<void> {
  if (users === 0) return;
  if (--users > 0) return;
  const otel = await starting;
  starting = undefined;
  tracing.otel = null;
  await otel?.shutdown();
}
