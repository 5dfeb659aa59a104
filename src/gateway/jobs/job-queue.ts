import type { FastifyInstance } from 'fastify';
import { executeJob, InProcessJobQueue, type JobQueue, type JobSpec, type JobView, webhookSender } from '../../jobs/index.js';
import type { Corral } from '../corral.js';
import { publicView } from './job-view.js';

/**
 * The gateway's job queue: BullMQ with CORRAL_REDIS_URL, else in memory. A job
 * runs by injecting its request into `root()`, as the key that submitted it
 * (as that key is when the job runs); its end is counted and its webhook sent.
 */
export async function createJobQueue(corral: Corral, root: () => FastifyInstance): Promise<JobQueue> {
  const { config, logger, metrics, services, events } = corral;
  const execute = (spec: JobSpec) => executeJob(root(), services, spec, () => corral.internalCalls.headersFor(corral.auth.principalById(spec.owner ?? 'anonymous')));
  const sendWebhook = webhookSender({ logger, home: config.home, secret: config.auth.webhookSecret, allowPrivate: config.auth.webhookAllowPrivate });
  const onFinished = (job: JobView, spec: JobSpec) => {
    metrics.jobs.inc({ service: job.service, state: job.state });
    if (job.started_at) metrics.jobWait.observe({ service: job.service }, (Date.parse(job.started_at) - Date.parse(job.created_at)) / 1000);
    if (spec.webhook) void sendWebhook(spec.webhook, publicView(job));
  };
  // BullMQ is loaded only in Redis mode.
  return config.redisUrl
    ? new (await import('../../jobs/bullmq-job-queue.js')).BullMqJobQueue({
      redisUrl: config.redisUrl, prefix: config.queuePrefix, execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs,
      resultTtlSeconds: config.jobTtlSeconds, attempts: config.jobAttempts, lockDurationMs: config.lockDurationMs, onFinished, logger, events,
    })
    : new InProcessJobQueue({ execute, concurrency: config.jobConcurrency, maxQueued: config.maxQueuedJobs, resultTtlMs: config.jobTtlSeconds * 1000, onFinished, events });
}
