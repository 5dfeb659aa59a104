import { CorralError } from './corral-error.js';
import type { ErrorCode } from './error-catalog.js';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: Array<{ params?: { additionalProperty?: string } }>;
}

const CUT_SHORT = 'The multipart body ended before its closing boundary: the upload was cut short '
  + '(check that the client sends the whole file and a Content-Length that matches it) or the body is not multipart/form-data.';
const CLIENT_CLOSED = 'The client closed the connection before the request body was complete; send the request again.';
const BOUNDARY_HELP = 'let the client build the body and its Content-Type (curl -F "field=@file", FormData) instead of setting the header by hand.';

/**
 * busboy, the parser under @fastify/multipart, raises plain Errors with no code
 * for a malformed body (node_modules/@fastify/busboy: lib/types/multipart.js,
 * deps/dicer/lib/Dicer.js, deps/streamsearch/sbmh.js), and @fastify/multipart
 * passes them on as they are; their messages are all there is to recognise them by.
 */
const BUSBOY_ERRORS: ReadonlyArray<{ message: RegExp; code: ErrorCode; text: string }> = [
  {
    message: /^(Multipart: Boundary not found|Boundary required)$/,
    code: 'BAD_REQUEST',
    text: `Content-Type multipart/form-data needs a boundary parameter (multipart/form-data; boundary=...); ${BOUNDARY_HELP}`,
  },
  {
    // The boundary becomes the search needle "\r\n--<boundary>", at most 256 bytes.
    message: /^The needle cannot (have a length bigger than 256|be an empty String\/Buffer)\.$/,
    code: 'BAD_REQUEST',
    text: `The multipart boundary must be 1 to 70 characters long (RFC 2046); ${BOUNDARY_HELP}`,
  },
  { message: /^Unexpected end of multipart data$/, code: 'BAD_REQUEST', text: CUT_SHORT },
  { message: /^(Part|Preamble) terminated early due to unexpected end of multipart data$/, code: 'BAD_REQUEST', text: CUT_SHORT },
];

/**
 * The one place where any thrown value becomes a CorralError: Fastify's own
 * errors (bad JSON, body limits, schema validation, multipart limits and
 * malformed multipart bodies) get a catalog code, anything unknown becomes INTERNAL.
 */
export function toCorralError(err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyLikeError;
  const message = e.message ?? String(err);
  if (e.validation) {
    // An empty body (or an array, or a string) where the route takes an object: say what to send.
    if (message === 'body must be object') return new CorralError('BAD_REQUEST', 'The body must be a JSON object; this one is empty or not an object.', { cause: err });
    // Ajv's text for an unknown key does not name it; its params do.
    const unknown = Array.isArray(e.validation) ? e.validation.map((v) => v.params?.additionalProperty).filter((k) => k !== undefined) : [];
    const named = unknown.length > 0 ? ` (${unknown.map((k) => `'${k}'`).join(', ')})` : '';
    return new CorralError('BAD_REQUEST', `Invalid request: ${message}${named}`, { cause: err });
  }
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
    case 'FST_MP_PREMATURE_CLOSE':
      return new CorralError('BAD_REQUEST', CLIENT_CLOSED, { cause: err });
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new CorralError('BAD_REQUEST', 'A multipart field declared as application/json is not valid JSON.', { cause: err });
    case 'ECONNRESET':
      // What node:http's server raises on a request whose client hung up before its
      // body was read (abortIncoming), e.g. mid-upload; Corral makes no outgoing
      // node:http requests, so this is always the client's doing.
      if (message === 'aborted') return new CorralError('BAD_REQUEST', CLIENT_CLOSED, { cause: err });
      break;
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_PROTO_VIOLATION':
      return new CorralError('BAD_REQUEST', message, { cause: err });
  }
  if (err instanceof Error && e.code === undefined) {
    const known = BUSBOY_ERRORS.find((b) => b.message.test(message));
    if (known) return new CorralError(known.code, known.text, { cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : e.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : e.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    return new CorralError(code, message, { cause: err });
  }
  return new CorralError('INTERNAL', 'Internal error; see the server log.', { cause: err });
}
