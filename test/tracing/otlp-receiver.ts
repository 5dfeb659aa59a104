/**
 * A local OTLP/HTTP receiver for the tracing suites: a node:http server on
 * 127.0.0.1 that records every request it gets and decodes the JSON trace
 * exports (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) into spans with their
 * attributes and their resource's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface OtlpValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: OtlpValue[] } }
interface OtlpAttr { key: string; value: OtlpValue }
export interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttr[]; links?: Array<{ traceId: string; spanId: string }> }
interface OtlpExport { resourceSpans: Array<{ resource: { attributes: OtlpAttr[] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> }
/** A received span with its resource's attributes. */
export interface Received { span: OtlpSpan; attrs: Record<string, unknown>; resource: Record<string, unknown> }

const plain = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values.map(plain);
const attrsOf = (list: OtlpAttr[] = []) => Object.fromEntries(list.map((a) => [a.key, plain(a.value)]));

/** The OTEL_* variables the suites set; `restore` puts them back as they were. */
export const OTEL_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_SERVICE_NAME', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_EXPORTER'];
export function saveOtelEnv(): () => void {
  const saved = Object.fromEntries(OTEL_VARS.map((k) => [k, process.env[k]]));
  return () => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  };
}

export interface OtlpReceiver {
  endpoint: string;
  requests: Array<{ method: string; url: string; contentType: string }>;
  received: Received[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver['requests'] = [];
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ method: req.method ?? '', url: req.url ?? '', contentType });
      if (req.url === '/v1/traces' && contentType.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const rs of body.resourceSpans) {
          const resource = attrsOf(rs.resource.attributes);
          for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ span, attrs: attrsOf(span.attributes), resource });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests, received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
