import type { FastifyReply } from 'fastify';

/**
 * Server-sent events on a hijacked reply: headers once, then `data:` frames.
 * Used by OpenAI-style and TGI-style streaming.
 */
export function openEventStream(reply: FastifyReply) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return {
    send(data: unknown, event?: string): void {
      if (raw.writableEnded) return;
      raw.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    },
    end(): void {
      if (!raw.writableEnded) raw.end();
    },
  };
}
