import type { FastifyReply } from 'fastify';

/**
 * Server-sent events on a hijacked reply: headers once, then `data:` frames.
 * Used by OpenAI-style and TGI-style streaming, job events and GET /api/events.
 */
export function openEventStream(reply: FastifyReply) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
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
      if (!raw.writableEnded) raw.end();
    },
  };
}
