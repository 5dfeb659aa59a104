import { ERROR_CATALOG, type ErrorCode } from './error-catalog.js';

/** A failure with a catalog code; its message is written for the user who has to act on it. */
export class CorralError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. Retry-After on QUEUE_FULL. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CorralError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.headers = options.headers ?? {};
  }
}

/** Shorthand constructors for the errors raised in many places. */
export const errors = {
  modelNotFound: (name: string, version?: string) =>
    new CorralError(
      'MODEL_NOT_FOUND',
      version === undefined
        ? `Model '${name}' is not in the repository. List models with GET /api/v1/models.`
        : `Model '${name}' has no version '${version}'.`,
    ),
};
