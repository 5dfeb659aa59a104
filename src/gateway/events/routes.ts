import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Principal } from '../../auth/index.js';
import { CorralError, toCorralError } from '../../errors/index.js';
import type { HubEvent } from '../../events/index.js';
import type { JobQueue } from '../../jobs/index.js';
import type { Corral } from '../corral.js';
import { canSee, summaryView } from '../jobs/job-view.js';
import { listJobs } from '../jobs/routes.js';
import { modelView } from '../mlbuffet/model-view.js';
import { serviceView } from '../services/service-view.js';
import { openEventStream } from '../sse.js';

/** One server-sent event: its name and its JSON. */
type Message = [event: string, data: unknown];

/**
 * GET /api/events: what the web UI watches. First a `snapshot` (services,
 * models, workers and jobs, as their list routes show them to this key), then
 * one event per change, each with an increasing id. A client that reconnects
 * with Last-Event-ID gets the events it missed, or a fresh snapshot when they
 * are no longer kept. A key limited to some models sees only theirs; jobs are
 * the ones GET /api/jobs would list for it. The caller's key is looked at again
 * before every event and heartbeat: revoked, expired, its session ended or its
 * read scope taken away, the stream sends one `unauthorized` event and ends; narrowed to
 * fewer models, it sees only those from then on.
 */
export const eventRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; jobs: JobQueue }> = async (app, { corral, jobs }) => {
  const { config, events: hub, services, repository, inference, dispatcher, auth } = corral;
  const service = (s: Parameters<typeof serviceView>[0]) => serviceView(s, config.batching);

  const snapshot = async (principal: Principal) => ({
    services: services.list().filter((s) => principal.canUse(s.name)).map(service),
    models: repository.list().filter((m) => principal.canUse(m.name)).map((m) => modelView(m, inference)),
    workers: dispatcher.workers(),
    jobs: principal.has('infer') ? (await listJobs(jobs, principal, { limit: 50 })).jobs : [],
  });

  /** What one change looks like to one caller: nothing if it may not see it. */
  const messages = (principal: Principal, event: HubEvent): Message[] => {
    switch (event.type) {
      case 'service':
        return principal.canUse(event.service.name) ? [['service', service(event.service)]] : [];
      case 'service-deleted':
        return principal.canUse(event.service.name) ? [['service-deleted', { id: event.service.id, name: event.service.name }]] : [];
      case 'model': {
        if (!principal.canUse(event.model.name)) return [];
        // A repository model is also listed as a service (task tensor); that view changed too.
        const asService = services.find(event.model.name);
        return [['model', modelView(event.model, inference)], ...(asService?.fromRepository ? [['service', service(asService)] as Message] : [])];
      }
      case 'model-deleted':
        if (!principal.canUse(event.model.name)) return [];
        return [['model-deleted', { model: event.model.name }], ['service-deleted', { id: `onnx:${event.model.name}`, name: event.model.name }]];
      case 'worker':
        return [['worker', event.worker]];
      case 'worker-deleted':
        return [['worker-deleted', { id: event.worker.id }]];
      case 'job':
        return principal.has('infer') && canSee(principal, event.job) ? [['job', summaryView(event.job)]] : [];
      case 'job-deleted':
        return principal.has('infer') && canSee(principal, event.job) ? [['job-deleted', { id: event.job.id }]] : [];
      case 'box':
        return [['box', event.box]];
    }
  };

  // Streams end when the gateway closes, or close() would wait for every client to hang up.
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of open) end();
  });

  app.get('/api/events', { config: { auth: 'read' } }, async (req, reply) => {
    let { principal } = req;
    if (req.method === 'HEAD') {
      openEventStream(reply).end();
      return reply;
    }
    // Listen before looking: a change made while the snapshot is built is sent after it, not lost.
    let pending: HubEvent[] | undefined = [];
    let sent = hub.lastId;
    const stream = openEventStream(reply);
    // The same credential the request was admitted with: its session, or its key (header or ?token=) by id.
    const session = req.sessionId;
    const stillAllowed = (): boolean => {
      if (reply.raw.writableEnded) return false;
      if (config.auth.mode === 'off') return true;
      try {
        principal = session !== undefined ? auth.principalForSession(session) : auth.principalById(principal.id);
        if (!principal.has('read')) throw new CorralError('FORBIDDEN', `API key '${principal.name}' no longer has the read scope.`);
        return true;
      } catch (err) {
        const error = toCorralError(err);
        stream.send({ code: error.code, error: error.message }, 'unauthorized');
        stream.end();
        return false;
      }
    };
    const send = (event: HubEvent) => {
      if (event.id <= sent || !stillAllowed()) return;
      sent = event.id;
      for (const [name, data] of messages(principal, event)) stream.send(data, name, event.id);
    };
    const unsubscribe = hub.subscribe((event) => (pending ? pending.push(event) : send(event)));
    const heartbeat = setInterval(() => stillAllowed() && stream.comment('heartbeat'), config.eventsHeartbeatMs);
    open.add(stream.end);
    reply.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(stream.end);
    });

    const header = req.headers['last-event-id'];
    const resumeFrom = typeof header === 'string' && /^[0-9]{1,16}$/.test(header.trim()) ? Number(header.trim()) : undefined;
    const missed = resumeFrom === undefined ? undefined : hub.since(resumeFrom);
    if (missed) {
      sent = resumeFrom!;
      for (const event of missed) send(event);
    } else {
      try {
        stream.send(await snapshot(principal), 'snapshot', sent);
      } catch (err) {
        // Jobs unreadable (Redis away): end the stream; EventSource reconnects and asks again.
        req.log.warn({ err: (err as Error).message }, 'events snapshot failed');
        stream.end();
        return reply;
      }
    }
    for (const event of pending) send(event);
    pending = undefined;
    return reply;
  });
};
