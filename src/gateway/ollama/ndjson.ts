import type { FastifyReply } from 'fastify';

/**
 * Newline-delimited JSON on a hijacked reply, how Ollama streams generation and
 * pull progress: one object a line, flushed as it is written.
 */
export function openNdjsonStream(reply: FastifyReply) {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  return {
    send(line: object): void {
      if (!raw.writableEnded) raw.write(`${JSON.stringify(line)}\n`);
    },
    end(): void {
      if (!raw.writableEnded) raw.end();
    },
  };
}
