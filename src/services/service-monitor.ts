import type { Logger } from 'pino';
import type { LauncherFactory } from './service-runner.js';
import type { ProfileStore } from '../profiles/index.js';
import type { ServiceRegistry } from './service-registry.js';

const ACTIVE = new Set(['SUBMITTED', 'STARTING', 'RUNNING']);

/**
 * Polls the scheduler for every job-backed service that is not finished and
 * records what it reports: PENDING → SUBMITTED, running → STARTING (RUNNING
 * only comes from the host registering), and the job's end as STOPPED,
 * FAILED (with its reason) or TIMEOUT.
 */
export class ServiceMonitor {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly profiles: ProfileStore,
    private readonly launcherFor: LauncherFactory,
    private readonly logger: Logger,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const service of this.registry.list()) {
        if (service.profile === 'local' || !service.jobId || !ACTIVE.has(service.status)) continue;
        try {
          const report = await this.launcherFor(this.profiles.get(service.profile)).status(service.jobId);
          if (report.state === 'SUBMITTED' || report.state === 'RUNNING') continue;
          if (report.state === 'STARTING') {
            if (service.status === 'SUBMITTED') await this.registry.setStatus(service.id, 'STARTING');
            continue;
          }
          // The job ended. A reason the host already reported (model failed to load) beats the scheduler's exit code.
          const reason = service.status === 'FAILED' && service.reason ? service.reason : report.reason ?? null;
          await this.registry.setStatus(service.id, report.state, { reason, endpoint: null });
        } catch (err) {
          this.logger.warn({ service: service.name, err: (err as Error).message }, 'could not poll the scheduler');
        }
      }
    } finally {
      this.ticking = false;
    }
  }
}
