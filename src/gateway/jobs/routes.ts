import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { checkTaskRoute } from '../../services/index.js';
import { CorralError } from '../../errors/index.js';
import { checkWebhookTarget, isFinished, type JobFilter, type JobQueue, type JobState, type JobView } from '../../jobs/index.js';
import type { Principal } from '../../auth/index.js';
import type { Corral } from '../corral.js';
import { openEventStream } from '../sse.js';
import { canSee, ownerFilter, publicView, summaryView } from './job-view.js';

const JobBody = Type.Object({
  service: Type.String({ minLength: 1 }),
  input: Type.Unknown(),
  route: Type.Optional(Type.String({ pattern: '^/?[A-Za-z0-9._/-]+$', maxLength: 256 })),
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_097_152 })),
  webhook: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
}, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
/** Query strings stay strings (no type coercion): the patterns say what is accepted. */
const ListQuery = Type.Object({
  state: Type.Optional(Type.String({ pattern: '^(queued|active|completed|failed|cancelled)$' })),
  service: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,2048}$' })),
}, { additionalProperties: false });
export const MAX_JOB_PAGE = 500;
const DEFAULT_JOB_PAGE = 50;

/** GET /api/jobs for one caller: the jobs it sees, newest first (also the jobs of GET /api/events' snapshot). */
export async function listJobs(jobs: JobQueue, principal: Principal, query: Omit<JobFilter, 'owner'>) {
  const page = await jobs.list({ ...query, owner: ownerFilter(principal) });
  return { jobs: page.jobs.map(summaryView), ...(page.next ? { next: page.next } : {}) };
}

/**
 * Async jobs: POST /api/jobs answers at once with an id; the job runs through
 * the service's task route; GET polls, /events streams, DELETE cancels, and an
 * optional webhook is POSTed (signed; private addresses refused, see
 * docs/webhooks.md) when it finishes. GET /api/jobs lists them. In Redis mode
 * jobs live in BullMQ and survive a gateway restart.
 */
export const jobRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; jobs: JobQueue }> = async (app, { corral, jobs }) => {
  const { config, services } = corral;

  /** A job as its owner (or an admin) sees it; to anyone else it does not exist. */
  const find = async (req: FastifyRequest, id: string) => {
    const job = await jobs.get(id);
    if (!job || !canSee(req.principal, job)) {
      throw new CorralError('JOB_NOT_FOUND', `No job '${id}'; finished jobs are kept for ${config.jobTtlSeconds} s.`);
    }
    return job;
  };

  app.post('/api/jobs', { schema: { body: JobBody }, config: { api: 'jobs', auth: 'infer' } }, async (req, reply) => {
    const service = services.get(req.body.service); // 404 now rather than a failed job later
    req.principal.assertCanUse(service.name);
    if (req.body.route !== undefined) checkTaskRoute(service, decodeURIComponent(req.body.route));
    // 400 now if the webhook could never be delivered; delivery checks its address again.
    if (req.body.webhook !== undefined) await checkWebhookTarget(req.body.webhook, { allowPrivate: config.auth.webhookAllowPrivate });
    const job = await jobs.add({ ...req.body, owner: req.principal.id });
    reply.code(202).header('location', `/api/jobs/${job.id}`);
    return publicView(job);
  });

  app.get('/api/jobs', { schema: { querystring: ListQuery }, config: { auth: 'infer' } }, async (req) => {
    const { state, service, limit, cursor } = req.query;
    const size = limit === undefined ? DEFAULT_JOB_PAGE : Number(limit);
    if (size > MAX_JOB_PAGE) throw new CorralError('BAD_REQUEST', `limit is at most ${MAX_JOB_PAGE}; page with the 'next' cursor for more.`);
    return listJobs(jobs, req.principal, { state: state as JobState | undefined, service, limit: size, cursor });
  });

  app.get('/api/jobs/:id', { schema: { params: IdParams }, config: { auth: 'infer' } }, async (req) => publicView(await find(req, req.params.id)));

  app.delete('/api/jobs/:id', { schema: { params: IdParams }, config: { auth: 'infer' } }, async (req) => {
    await find(req, req.params.id);
    return publicView(await jobs.cancel(req.params.id));
  });

  app.get('/api/jobs/:id/events', { schema: { params: IdParams }, config: { auth: 'infer' } }, async (req, reply) => {
    const first = await find(req, req.params.id);
    const events = openEventStream(reply);
    let last = '';
    const send = (job: JobView) => {
      const key = `${job.state}:${job.progress}`;
      if (key === last) return;
      last = key;
      events.send(publicView(job), 'state');
      if (isFinished(job.state)) finish();
    };
    // Polling backs the subscription up, so a change is never missed (e.g. across a Redis restart).
    const poll = setInterval(() => void jobs.get(first.id).then((j) => j && send(j)), 1000);
    const unsubscribe = jobs.subscribe(first.id, send);
    const finish = () => {
      clearInterval(poll);
      unsubscribe();
      events.end();
    };
    req.raw.on('close', finish);
    send(first);
    return reply;
  });

  app.get('/api/workers', { config: { auth: 'read' } }, async () => corral.dispatcher.workers());
};
