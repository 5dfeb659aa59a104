import { CorralError } from './corral-error.js';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
}

/**
 * The one place where any thrown value becomes a CorralError: Fastify's own
 * errors (bad JSON, body limits, schema validation, multipart limits) get a
 * catalog code, anything unknown becomes INTERNAL.
 */
export function toCorralError(err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyLikeError;
  const message = e.message ?? String(err);
  if (e.validation) return new CorralError('BAD_REQUEST', `Invalid request: ${message}`, { cause: err });
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CorralError('INVALID_JSON', `The body is not valid JSON: ${message}`, { cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CorralError('PAYLOAD_TOO_LARGE', `${message}; raise CORRAL_MAX_BODY_MB to accept larger request bodies.`, { cause: err });
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new CorralError('PAYLOAD_TOO_LARGE', `${message} Raise CORRAL_MAX_UPLOAD_MB to accept larger uploads.`, { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new CorralError('UNSUPPORTED_MEDIA_TYPE', message, { cause: err });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_PROTO_VIOLATION':
      return new CorralError('BAD_REQUEST', message, { cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : e.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : e.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    return new CorralError(code, message, { cause: err });
  }
  return new CorralError('INTERNAL', 'Internal error; see the server log.', { cause: err });
}
