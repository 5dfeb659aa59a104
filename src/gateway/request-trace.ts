import type { FastifyInstance, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER, RequestTrace, serverTiming, tracing, type OtelSpan } from '../tracing/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Made by traceOf() when the request enters the inference path; null for every other request. */
    trace: RequestTrace | null;
    /** Its OpenTelemetry server span; null unless tracing is on. */
    otelSpan: OtelSpan | null;
  }
}

/**
 * Every response names its request (`X-Request-Id`, the id Fastify logs it
 * under: see requestIdOf), errors and hijacked streams included, since the
 * header is set on the raw response before anything else runs. A request that
 * went through a batcher also gets `Server-Timing`.
 */
export function installRequestTracing(app: FastifyInstance): void {
  app.decorateRequest('trace', null);
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const trace = request.trace;
    if (trace !== null) {
      const timing = serverTiming(trace, reply.elapsedTime);
      if (timing !== undefined) reply.header('server-timing', timing);
    }
    done(null, payload);
  });
  // OpenTelemetry (started before the app is built, see startServer): with it off, no hook at all.
  const otel = tracing.otel;
  if (otel === null) return;
  app.decorateRequest('otelSpan', null);
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    const span = otel.serverSpan({
      method: raw.method ?? 'GET', url: raw.url ?? '/', headers: raw.headers,
      localPort: raw.socket?.localPort, remoteAddress: raw.socket?.remoteAddress, httpVersion: raw.httpVersion,
    });
    request.otelSpan = span;
    // 'close' comes once the response is sent or the connection is gone, hijacked streams included.
    reply.raw.once('close', () => otel.endServerSpan(span, raw.method ?? 'GET', request.routeOptions.url, reply.raw.statusCode));
    done();
  });
}

/** The request's trace, made on first use: routes pass it down the inference path. */
export function traceOf(request: FastifyRequest): RequestTrace {
  if (request.trace !== null) return request.trace;
  const trace = (request.trace = new RequestTrace(request.id, request.raw.socket));
  trace.span = request.otelSpan ?? null;
  return trace;
}
