import type { FastifyReply } from 'fastify';
import { serverTiming, type RequestTrace } from '../tracing/index.js';

/**
 * Server-sent events on a hijacked reply: headers once, then `data:` frames.
 * Used by OpenAI-style and TGI-style streaming, job events and GET /api/events.
 * With the request's `trace` (a streamed inference), its Server-Timing comes as
 * a trailer after the last event, once compute and total are known.
 */
export function openEventStream(reply: FastifyReply, trace?: RequestTrace) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no',
    ...(trace ? { trailer: 'server-timing' } : {}),
  });
  return {
    /** One event; `id` is what a reconnecting EventSource sends back as Last-Event-ID. */
    send(data: unknown, event?: string, id?: number | string): void {
      if (raw.writableEnded) return;
      raw.write(`${id !== undefined ? `id: ${id}\n` : ''}${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    },
    /** A comment line: clients ignore it, proxies see traffic (a heartbeat). */
    comment(text: string): void {
      if (!raw.writableEnded) raw.write(`: ${text}\n\n`);
    },
    end(): void {
      if (raw.writableEnded) return;
      const timing = trace && serverTiming(trace, reply.elapsedTime);
      if (timing !== undefined) raw.addTrailers({ 'server-timing': timing });
      raw.end();
    },
  };
}
