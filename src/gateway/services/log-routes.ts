import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CorralError } from '../../errors/index.js';
import type { LogLine } from '../../services/service-logs.js';
import type { Corral } from '../corral.js';
import { openEventStream } from '../sse.js';
import { usableService } from './usable-service.js';

const Params = Type.Object({ id: Type.String() });
const Query = Type.Object({ tail: Type.Optional(Type.String()), follow: Type.Optional(Type.String()) });
const DEFAULT_TAIL = 200;
/** How often a followed job-backed service's log file is read again. */
const JOB_POLL_MS = 1000;
/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * GET /api/services/<id>/logs?tail=N: the last N lines of a service's log as
 * JSON; with follow=1, server-sent events: those lines, then each new one,
 * until the client goes away, the service is deleted or the gateway closes.
 * The log is the service's own (ServiceLogs); nothing in the request names a file.
 */
export const serviceLogRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { logs, services } = corral;
  const open = new Set<() => void>();
  /** What a job wrote since the last look; a cluster that cannot be reached leaves the log as it was. */
  const readJobLog = (service: Parameters<typeof logs.readJobLog>[0]) => logs.readJobLog(service)
    .catch((err: Error) => corral.logger.warn({ service: service.name, err: err.message }, 'could not read the job log'));
  app.addHook('preClose', async () => { for (const finish of [...open]) finish(); });

  app.get('/api/services/:id/logs', { schema: { params: Params, querystring: Query }, config: { auth: 'read' } }, async (req, reply) => {
    const service = usableService(services, req);
    const tail = tailOf(req.query.tail, logs.maxLines);
    const follow = ['1', 'true', ''].includes(req.query.follow ?? 'no');
    if (!follow) {
      await readJobLog(service);
      return { lines: logs.last(service.id, tail) };
    }

    // Listen first, so no line falls between the tail and the stream; lines that
    // arrive while the job log is read are in the tail already, and skipped here.
    let live = false;
    const unsubscribe = logs.subscribe(service.id, (line: LogLine | null) => {
      if (line === null) finish();
      else if (live) events.send(line);
    });
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      clearInterval(keepalive);
      unsubscribe();
      open.delete(finish);
      events.end();
    };
    const events = openEventStream(reply);
    open.add(finish);
    req.raw.on('close', finish);
    const keepalive = setInterval(() => events.comment('keepalive'), KEEPALIVE_MS);
    // A job writes to a file on the cluster: read it again while someone follows.
    const poll = service.profile === 'local' ? undefined : setInterval(() => {
      const current = services.find(service.id);
      if (current) void readJobLog(current);
      else finish();
    }, JOB_POLL_MS);
    await readJobLog(service);
    if (finished) return reply;
    for (const line of logs.last(service.id, tail)) events.send(line);
    live = true;
    return reply;
  });
};

function tailOf(raw: string | undefined, max: number): number {
  if (raw === undefined) return Math.min(DEFAULT_TAIL, max);
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) {
    throw new CorralError('BAD_REQUEST', `tail must be a whole number from 0 to ${max} (the lines kept per service); got '${raw}'.`);
  }
  return Number(raw);
}
