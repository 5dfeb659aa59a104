/**
 * The OpenTelemetry SDK, loaded only by startOtel (otel.ts) when tracing is on.
 * NodeSDK reads the standard OTEL_* variables: the endpoint, the protocol
 * (http/protobuf by default, http/json, grpc), headers, sampler, batch span
 * processor and resource attributes. Only traces: no metrics or logs exporter.
 */
import {
  context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Context, type Link, type Span, type SpanContext,
} from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { VERSION } from '../gateway/version.js';
import type { Attributes, Otel, ServerRequestInfo } from './otel.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A remote span's context from its W3C traceparent; undefined when malformed. */
function spanContextOf(traceparent: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function createOtel(service: string): Otel {
  // OTEL_SERVICE_NAME renames the gateway; its workers get the same name with "-worker".
  const base = process.env.OTEL_SERVICE_NAME?.trim();
  const serviceName = base ? (service === 'corral-worker' ? `${base}-worker` : base) : service;
  const sdk = new NodeSDK({ serviceName, metricReaders: [], logRecordProcessors: [] });
  sdk.start();
  const tracer = trace.getTracer('corral', VERSION);

  const remoteParent = (traceparent: string): Context => {
    const sc = spanContextOf(traceparent);
    return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
  };

  return {
    serverSpan(req: ServerRequestInfo): Span {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const q = req.url.indexOf('?');
      const host = first(req.headers.host) ?? '';
      const colon = host.lastIndexOf(':');
      const attributes: Attributes = {
        'http.request.method': req.method,
        'url.path': q < 0 ? req.url : req.url.slice(0, q),
        'url.scheme': 'http',
        'server.address': colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host,
      };
      const port = colon > 0 ? Number(host.slice(colon + 1)) : req.localPort;
      if (port !== undefined && Number.isInteger(port)) attributes['server.port'] = port;
      if (req.httpVersion) attributes['network.protocol.version'] = req.httpVersion;
      if (req.remoteAddress) attributes['client.address'] = req.remoteAddress;
      const ua = first(req.headers['user-agent']);
      if (ua) attributes['user_agent.original'] = ua;
      return tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes }, parent);
    },

    endServerSpan(span, method, route, status) {
      if (route) {
        span.setAttribute('http.route', route);
        span.updateName(`${method} ${route}`);
      }
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },

    pastSpan(parent, name, startMs, endMs, attributes) {
      tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, trace.setSpan(ROOT_CONTEXT, parent)).end(endMs);
    },

    childSpan(parent, name, attributes, links) {
      return tracer.startSpan(name, {
        kind: SpanKind.INTERNAL, attributes, links: links.map((s): Link => ({ context: s.spanContext() })),
      }, trace.setSpan(ROOT_CONTEXT, parent));
    },

    remoteChildSpan(traceparent, name, attributes, links) {
      const linked = links.map(spanContextOf).filter((c): c is SpanContext => c !== undefined);
      return tracer.startSpan(name, {
        kind: SpanKind.INTERNAL, attributes, links: linked.map((c): Link => ({ context: c })),
      }, remoteParent(traceparent));
    },

    endSpan(span, err) {
      if (err !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
        span.setAttribute('error.type', (err as Error)?.name ?? 'Error');
      }
      span.end();
    },

    traceparentOf(span) {
      const { traceId, spanId, traceFlags } = span.spanContext();
      return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    },

    async shutdown() {
      try {
        await sdk.shutdown();
      } finally {
        // Unregistered, so a later start in the same process (tests) can register again.
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}
