import type { FastifyReply } from 'fastify';
import { serverTiming, type RequestTrace } from '../../tracing/index.js';

/**
 * Newline-delimited JSON on a hijacked reply, how Ollama streams generation and
 * pull progress: one object a line, flushed as it is written. With the request's
 * `trace` (a streamed generation), its Server-Timing comes as a trailer at the end.
 */
export function openNdjsonStream(reply: FastifyReply, trace?: RequestTrace) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-accel-buffering': 'no',
    ...(trace ? { trailer: 'server-timing' } : {}),
  });
  return {
    send(line: object): void {
      if (!raw.writableEnded) raw.write(`${JSON.stringify(line)}\n`);
    },
    end(): void {
      if (raw.writableEnded) return;
      const timing = trace && serverTiming(trace, reply.elapsedTime);
      if (timing !== undefined) raw.addTrailers({ 'server-timing': timing });
      raw.end();
    },
  };
}
