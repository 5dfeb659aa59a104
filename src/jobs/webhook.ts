import type { Logger } from 'pino';
import type { JobView } from './job.js';

/**
 * POSTs a finished job to its webhook: up to `attempts` tries with doubling
 * back-off, each bounded by a timeout. Failures are logged, never thrown.
 */
export async function deliverWebhook(url: string, job: JobView, logger: Logger, attempts = 4, firstDelayMs = 250): Promise<boolean> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-corral-job': job.id, 'x-corral-attempt': String(attempt) },
        body: JSON.stringify(job),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return true;
      logger.warn({ job: job.id, url, status: res.status, attempt }, 'webhook answered with an error');
    } catch (err) {
      logger.warn({ job: job.id, url, err: (err as Error).message, attempt }, 'webhook delivery failed');
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, firstDelayMs * 2 ** (attempt - 1)));
  }
  return false;
}
