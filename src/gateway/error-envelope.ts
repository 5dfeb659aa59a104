import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { toCorralError, type CorralError } from '../errors/index.js';

/** Shapes an error body the way one API family expects it. */
export type ErrorFormatter = (error: CorralError) => unknown;

/**
 * Error handler factory: every API maps errors through the same catalog
 * (toCorralError) and differs only in the JSON envelope it answers with, and
 * (Neural Energy's CORRAL_NE_ERRORS_200) the status `statusOf` gives it.
 */
export function errorHandler(format: ErrorFormatter, logger: Logger, statusOf: (error: CorralError) => number = (e) => e.status) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const error = toCorralError(err);
    // The request's own logger names it (reqId); only the unexpected gets a stack trace, a 503 for a stopped service is routine.
    const log = request.log ?? logger;
    if (error.code === 'INTERNAL') log.error({ err }, error.message);
    else if (error.status >= 500) log.warn({ code: error.code }, error.message);
    reply.code(statusOf(error)).headers(error.headers).send(format(error));
  };
}
