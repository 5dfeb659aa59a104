import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { toCorralError } from '../../errors/index.js';

/**
 * Neural Energy's clients read an `ERROR` field. Its status is the catalog's,
 * except that with CORRAL_NE_ERRORS_200 a request error (400, 404: a bad
 * signature, bad input) answers 200 as the original gateway did; auth, quota
 * and server errors keep theirs, so a client still sees those fail.
 */
export function neErrorHandler(errors200: () => boolean, logger: Logger) {
  return (err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    const error = toCorralError(err);
    if (error.code === 'INTERNAL') logger.error({ err }, error.message);
    else if (error.status >= 500) logger.warn({ code: error.code }, error.message);
    const status = errors200() && (error.status === 400 || error.status === 404) ? 200 : error.status;
    reply.code(status).headers(error.headers).send({ ERROR: error.message, code: error.code });
  };
}
