import type { Job } from 'bullmq';

/**
 * CORRAL_JOB_ATTEMPTS is the number of times a job is *tried* (started), in
 * every way a try can end: a retryable failure, or a worker that died holding it
 * (the job stalls, its lock lapses after CORRAL_LOCK_MS and another worker takes
 * it). BullMQ counts those two apart (attemptsMade, stalledCounter) and bounds
 * stalls by a per-worker `maxStalledCount`; Corral bounds the sum instead, with
 * the attempts the gateway wrote into the job: a job is never started a time more.
 */
export function triesExhausted(job: Pick<Job, 'attemptsStarted' | 'opts'>): boolean {
  return job.attemptsStarted > (job.opts.attempts ?? 1);
}

/**
 * Worker options for locks and stalls. `attempts` (CORRAL_JOB_ATTEMPTS) bounds
 * stalls as a backstop only: triesExhausted() fails a job on its start past its
 * attempts, before a stall past them could be counted. Without it the job's own
 * attempts are the only bound.
 */
export function lockOptions(lockDurationMs: number, attempts?: number) {
  return {
    lockDuration: lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(lockDurationMs / 2)),
    maxStalledCount: attempts ?? Number.MAX_SAFE_INTEGER,
  };
}
