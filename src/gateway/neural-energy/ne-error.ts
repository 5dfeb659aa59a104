import type { Logger } from 'pino';
import type { CorralError } from '../../errors/index.js';
import { errorHandler } from '../error-envelope.js';

/**
 * Neural Energy's clients read an `ERROR` field. Its status is the catalog's,
 * except that with CORRAL_NE_ERRORS_200 a request error (400, 404: a bad
 * signature, bad input) answers 200 as the original gateway did; auth, quota
 * and server errors keep theirs, so a client still sees those fail.
 */
export function neErrorHandler(errors200: () => boolean, logger: Logger) {
  return errorHandler(
    (error: CorralError) => ({ ERROR: error.message, code: error.code }),
    logger,
    (error) => (errors200() && (error.status === 400 || error.status === 404) ? 200 : error.status),
  );
}
