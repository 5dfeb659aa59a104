export type { JobFilter, JobPage, JobQueue, JobSpec, JobState, JobView } from './job.js';
export { isFinished, matches, ownedBy } from './job.js';
export { InProcessJobQueue } from './in-process-job-queue.js';
export { executeJob } from './execute-job.js';
export { deliverWebhook, signWebhook, webhookSender, type DeliverWebhookOptions, type WebhookSenderOptions } from './webhook.js';
export { checkWebhookTarget, WebhookTargetError, type WebhookLookup, type WebhookTarget } from './webhook-target.js';
export { loadWebhookSecret, webhookSecretPath } from './webhook-secret.js';
