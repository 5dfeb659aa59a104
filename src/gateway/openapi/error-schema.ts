import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CorralError, ERROR_CATALOG, type ErrorCode } from '../../errors/index.js';

type Schema = Record<string, unknown>;
const SAMPLE_CODE: ErrorCode = 'MODEL_NOT_FOUND';
const SAMPLE_MESSAGE = "No model named 'iris.onnx' in the repository.";

/**
 * The body a plugin's error handler answers an error with, got by handing the
 * handler a sample error and a stand-in reply. The document then shows each
 * family's real envelope (MLBuffet's `http_status`, v2's `{error}`, OpenAI's,
 * and whatever a new API sets) without a second, hand-kept copy of it.
 * Undefined when the handler does not answer synchronously.
 */
export function sampleErrorBody(instance: FastifyInstance): unknown {
  let sent: unknown;
  const reply: Record<string, unknown> = {};
  for (const method of ['code', 'status', 'header', 'headers', 'type', 'removeHeader']) reply[method] = () => reply;
  reply.send = (payload: unknown) => { sent = payload; return reply; };
  reply.getHeader = () => undefined;
  const request = { headers: {}, url: '/', method: 'GET', log: instance.log } as unknown as FastifyRequest;
  try {
    const returned: unknown = instance.errorHandler.call(instance, new CorralError(SAMPLE_CODE, SAMPLE_MESSAGE) as never, request, reply as unknown as FastifyReply);
    if (sent === undefined && returned !== undefined && !(returned instanceof Promise)) sent = returned;
    if (returned instanceof Promise) returned.catch(() => undefined);
  } catch {
    return undefined;
  }
  if (typeof sent === 'string' || Buffer.isBuffer(sent)) {
    try { return JSON.parse(sent.toString()); } catch { return undefined; }
  }
  return sent;
}

const CODES = Object.keys(ERROR_CATALOG);

/**
 * A JSON schema (OpenAPI 3.0 dialect) of the sample body: its shape, with the
 * field that carries the error code (as the catalog spells it, or lower-cased
 * as OpenAI does) listing every code, and the sample as the example.
 */
export function schemaOfSample(sample: unknown): Schema {
  const schema = shape(sample);
  schema.example = sample;
  return schema;
}

function shape(value: unknown): Schema {
  if (value === null) return { nullable: true };
  if (Array.isArray(value)) return { type: 'array', items: value.length > 0 ? shape(value[0]) : {} };
  switch (typeof value) {
    case 'string':
      if (value === SAMPLE_CODE) return { type: 'string', enum: CODES, description: 'The error code (docs/errors.md).' };
      if (value === SAMPLE_CODE.toLowerCase()) return { type: 'string', enum: CODES.map((c) => c.toLowerCase()), description: 'The error code (docs/errors.md), lower-cased.' };
      if (value === SAMPLE_MESSAGE) return { type: 'string', description: 'What was wrong, for a person to read.' };
      return { type: 'string' };
    case 'number': return { type: Number.isInteger(value) ? 'integer' : 'number' };
    case 'boolean': return { type: 'boolean' };
    case 'object': {
      const entries = Object.entries(value as Record<string, unknown>);
      return { type: 'object', required: entries.filter(([, v]) => v !== null).map(([k]) => k), properties: Object.fromEntries(entries.map(([k, v]) => [k, shape(v)])) };
    }
    default: return {};
  }
}
