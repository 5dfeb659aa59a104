import type { FastifyInstance, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER, RequestTrace, serverTiming } from '../tracing/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Made by traceOf() when the request enters the inference path; null for every other request. */
    trace: RequestTrace | null;
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
}

/** The request's trace, made on first use: routes pass it down the inference path. */
export function traceOf(request: FastifyRequest): RequestTrace {
  return (request.trace ??= new RequestTrace(request.id, request.raw.socket));
}
