/**
 * The KServe plugin's body parser for everything but application/json (which keeps
 * the gateway's JSON parser untouched): Triton's clients send binary tensor bodies as
 * application/octet-stream or with no Content-Type at all. With the
 * Inference-Header-Content-Length header the body is split into its JSON header and
 * binary part; without it the body is a plain JSON request.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CorralError } from '../../errors/index.js';
import { splitInferBody } from './binary-tensors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

// Keyed by the parsed header object, so the binary part needs no request decoration and goes with the body.
const binaryParts = new WeakMap<object, Buffer>();

/** The binary part that came after this parsed JSON header, if the body had one. */
export const binaryPartOf = (body: unknown): Buffer | undefined =>
  (typeof body === 'object' && body !== null ? binaryParts.get(body) : undefined);

/** Registers the parser in the calling plugin's scope; the app's bodyLimit still applies. */
export function installBinaryBodyParser(app: FastifyInstance): void {
  // The same JSON parser (and prototype-poisoning rules) as the app's application/json one.
  const json = app.getDefaultJsonParser('error', 'error');
  // Fastify's own text/plain parser would hand the route a string; here it is one more "anything else".
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    const buffer = body as Buffer;
    if (buffer.length === 0) return done(null, undefined);
    const headerLength = req.headers[HEADER_LENGTH];
    if (headerLength === undefined) return json(req, buffer.toString('utf8'), done);
    let parts: ReturnType<typeof splitInferBody>;
    try {
      parts = splitInferBody(buffer, headerLength);
    } catch (err) {
      return done(err as Error, undefined);
    }
    json(req, parts.header.toString('utf8'), (err, parsed: unknown) => {
      if (!err && typeof parsed === 'object' && parsed !== null) binaryParts.set(parsed, parts.binary);
      done(err, parsed);
    });
  });
}

/**
 * A binary body sent as application/json reaches the JSON parser, which can only say
 * "not valid JSON"; this says what to change instead. Runs on the error path only.
 */
export function explainBinaryAsJson(err: unknown, req: FastifyRequest): unknown {
  if (req.headers[HEADER_LENGTH] === undefined || (err as { code?: unknown } | null)?.code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return err;
  return new CorralError('UNSUPPORTED_MEDIA_TYPE', 'A body with Inference-Header-Content-Length carries binary tensors: send it as Content-Type application/octet-stream, not application/json.', { cause: err });
}
