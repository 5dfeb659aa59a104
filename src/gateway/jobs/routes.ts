import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { CorralError } from '../../errors/index.js';
import { BullMqJobQueue, deliverWebhook, executeJob, InProcessJobQueue, isFinished, type JobQueue, type JobSpec, type JobView } from '../../jobs/index.js';
import type { Corral } from '../corral.js';
import { openEventStream } from '../sse.js';

const JobBody = Type.Object({
  service: Type.String({ minLength: 1 }),
  input: Type.Unknown(),
  route: Type.Optional(Type.String({ pattern: '^/?[A-Za-z0-9._/-]+$', maxLength: 256 })),
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_097_152 })),
  webhook: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
}, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Async jobs: POST /api/jobs answers at once with an id; the job runs through
 * the service's task route; GET polls, /events streams, DELETE cancels, and an
 * optional webhook is POSTed when it finishes. In Redis mode jobs live in
 * BullMQ and survive a gateway restart.
 */
export const jobRoutes: FastifyPluginAsyncTypebox<{ corral: Corral; root: () => FastifyInstance }> = async (app, { corral, root }) => {
  const { config, logger, metrics, services } = corral;
  const execute = (spec: JobSpec) => executeJob(root(), services, spec);
  const onFinished = (job: JobView, spec: JobSpec) => {
    metrics.jobs.inc({ service: job.service, state: job.state });
    if (job.started_at) metrics.jobWait.observe({ service: job.service }, (Date.parse(job.started_at) - Date.parse(job.created_at)) / 1000);
    if (spec.webhook) void deliverWebhook(spec.webhook, job, logger);
  };
  const jobs: JobQueue = config.redisUrl
    ? new BullMqJobQueue({
      redisUrl: config.redisUrl, prefix: config.queuePrefix, execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs,
      resultTtlSeconds: config.jobTtlSeconds, attempts: config.jobAttempts, lockDurationMs: config.lockDurationMs, onFinished, logger,
    })
    : new InProcessJobQueue({ execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs, resultTtlMs: config.jobTtlSeconds * 1000, onFinished });
  app.addHook('onClose', async () => jobs.close());

  const find = async (id: string) => {
    const job = await jobs.get(id);
    if (!job) throw new CorralError('JOB_NOT_FOUND', `No job '${id}'; finished jobs are kept for ${config.jobTtlSeconds} s.`);
    return job;
  };

  app.post('/api/jobs', { schema: { body: JobBody }, config: { api: 'jobs' } }, async (req, reply) => {
    services.get(req.body.service); // 404 now rather than a failed job later
    const job = await jobs.add(req.body);
    reply.code(202).header('location', `/api/jobs/${job.id}`);
    return job;
  });

  app.get('/api/jobs/:id', { schema: { params: IdParams } }, async (req) => find(req.params.id));

  app.delete('/api/jobs/:id', { schema: { params: IdParams } }, async (req) => jobs.cancel(req.params.id));

  app.get('/api/jobs/:id/events', { schema: { params: IdParams } }, async (req, reply) => {
    const first = await find(req.params.id);
    const events = openEventStream(reply);
    let last = '';
    const send = (job: JobView) => {
      const key = `${job.state}:${job.progress}`;
      if (key === last) return;
      last = key;
      events.send(job, 'state');
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

  app.get('/api/workers', async () => corral.dispatcher.workers());
};
