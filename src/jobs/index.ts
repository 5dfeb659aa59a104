export type { JobQueue, JobSpec, JobState, JobView } from './job.js';
export { isFinished } from './job.js';
export { InProcessJobQueue } from './in-process-job-queue.js';
export { BullMqJobQueue } from './bullmq-job-queue.js';
export { executeJob } from './execute-job.js';
export { deliverWebhook } from './webhook.js';
