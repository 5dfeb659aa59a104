import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkTaskRoute } from '../../services/index.js';
import { CorralError } from '../../errors/index.js';
import { BullMqJobQueue, checkWebhookTarget, executeJob, InProcessJobQueue, isFinished, type JobQueue, type JobSpec, type JobView, webhookSender } from '../../jobs/index.js';
import type { Corral } from '../corral.js';
import { openEventStream } from '../sse.js';

const JobBody = Type.Object({
  service: Type.String({ minLength: 1 }),
  input: Type.Unknown(),
  route: Type.Optional(Type.String({ pattern: '^/?[A-Za-z0-9._/-]+$', maxLength: 256 })),
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_097_152 })),
  webhook: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
}, { additionalProperties: false });
/** Who owns a job is the gateway's business, not part of the job's JSON. */
const publicView = ({ owner: _owner, ...job }: JobView) => job;
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Async jobs: POST /api/jobs answers at once with an id; the job runs through
 * the service's task route; GET polls, /events streams, DELETE cancels, and an
 * optional webhook is POSTed (signed; private addresses refused, see
 * docs/webhooks.md) when it finishes. In Redis mode jobs live in
 * BullMQ and survive a gateway restart.
 */
export const jobRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; root: () => FastifyInstance }> = async (app, { corral, root }) => {
  const { config, logger, metrics, services } = corral;
  // A job runs as the key that submitted it, as that key is when the job runs.
  const execute = (spec: JobSpec) => executeJob(root(), services, spec, () => corral.internalCalls.headersFor(corral.auth.principalById(spec.owner ?? 'anonymous')));
  const sendWebhook = webhookSender({ logger, home: config.home, secret: config.auth.webhookSecret, allowPrivate: config.auth.webhookAllowPrivate });
  const onFinished = (job: JobView, spec: JobSpec) => {
    metrics.jobs.inc({ service: job.service, state: job.state });
    if (job.started_at) metrics.jobWait.observe({ service: job.service }, (Date.parse(job.started_at) - Date.parse(job.created_at)) / 1000);
    if (spec.webhook) void sendWebhook(spec.webhook, publicView(job));
  };
  const jobs: JobQueue = config.redisUrl
    ? new BullMqJobQueue({
      redisUrl: config.redisUrl, prefix: config.queuePrefix, execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs,
      resultTtlSeconds: config.jobTtlSeconds, attempts: config.jobAttempts, lockDurationMs: config.lockDurationMs, onFinished, logger,
    })
    : new InProcessJobQueue({ execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs, resultTtlMs: config.jobTtlSeconds * 1000, onFinished });
  app.addHook('onClose', async () => jobs.close());

  /** A job as its owner (or an admin) sees it; to anyone else it does not exist. */
  const find = async (req: FastifyRequest, id: string) => {
    const job = await jobs.get(id);
    if (!job || (job.owner !== undefined && job.owner !== req.principal.id && !req.principal.has('admin'))) {
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
