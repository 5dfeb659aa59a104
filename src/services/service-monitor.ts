import type { Logger } from 'pino';
import { Periodic } from './periodic.js';
import type { JobReport } from '../launchers/launcher.js';
import type { LauncherFactory } from './service-runner.js';
import type { ProfileStore } from '../profiles/index.js';
import type { ServiceRecord, ServiceState } from './service-record.js';
import type { ServiceRegistry } from './service-registry.js';

const ACTIVE: ReadonlySet<ServiceState> = new Set(['SUBMITTED', 'STARTING', 'RUNNING']);

/** A change of a service's state (and what goes with it), as ServiceRegistry.setStatus takes it. */
export interface StatusChange {
  status: ServiceState;
  details: { reason?: string | null; endpoint?: string | null };
}

/**
 * What a job report means for a job-backed service in `current` state (one of
 * SUBMITTED, STARTING, RUNNING); undefined when nothing changes.
 *
 * - The job waits in the queue (SUBMITTED): nothing for a SUBMITTED service. A
 *   STARTING or RUNNING one had a job that ran and is queued again, i.e.
 *   requeued (by an admin, after a node failure, on preemption): its host is
 *   gone, so it goes back to SUBMITTED and drops its endpoint. The job's next
 *   run registers again.
 * - The job holds a node (STARTING; RUNNING is never reported, it only comes
 *   from the host registering, but would mean the same): SUBMITTED moves
 *   forward to STARTING; STARTING and RUNNING stay, never move backwards, and
 *   carry the report's reason (e.g. a suspended job) until it goes away.
 * - The job ended: STOPPED, FAILED (with its reason) or TIMEOUT, no endpoint.
 */
export function statusChange(current: Pick<ServiceRecord, 'status' | 'reason'>, report: JobReport): StatusChange | undefined {
  const reason = report.reason ?? null;
  switch (report.state) {
    case 'SUBMITTED':
      if (current.status === 'SUBMITTED') return undefined;
      return { status: 'SUBMITTED', details: { endpoint: null, reason: `job requeued by the scheduler${reason ? ` (${reason})` : ''}` } };
    case 'STARTING':
    case 'RUNNING':
      if (current.status === 'SUBMITTED') return { status: 'STARTING', details: { reason } };
      return current.reason === reason ? undefined : { status: current.status, details: { reason } };
    default:
      return { status: report.state, details: { reason, endpoint: null } };
  }
}

const locks = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` with a service's state to itself: the monitor's read-decide-write
 * and a host's register for the same service never interleave, so neither
 * writes over a state the other recorded meanwhile.
 */
export async function withServiceLock<T>(serviceId: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(serviceId) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(() => undefined, () => undefined);
  locks.set(serviceId, settled);
  try {
    return await run;
  } finally {
    if (locks.get(serviceId) === settled) locks.delete(serviceId);
  }
}

const unchanged = (a: ServiceRecord, b: ServiceRecord) =>
  a.status === b.status && a.updatedAt === b.updatedAt && a.jobId === b.jobId && a.endpoint === b.endpoint && a.reason === b.reason;

/**
 * Polls the scheduler for every job-backed service that is not finished and
 * records what the report means (see statusChange): SUBMITTED → STARTING,
 * a requeued job back to SUBMITTED without an endpoint, and the job's end as
 * STOPPED, FAILED (with its reason) or TIMEOUT. RUNNING only comes from the
 * host registering.
 *
 * A change is written only if the service is still as it was when the
 * scheduler was asked: a host that registered (RUNNING) or reported a failure
 * (FAILED, with its reason) while squeue ran is never overwritten by that
 * older report; the next tick decides on fresh data.
 */
export class ServiceMonitor {
  private readonly periodic: Periodic<void>;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly profiles: ProfileStore,
    private readonly launcherFor: LauncherFactory,
    private readonly logger: Logger,
    intervalMs = 2000,
  ) {
    this.periodic = new Periodic(() => this.check(), undefined, intervalMs);
  }

  start(): void {
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  tick(): Promise<void> {
    return this.periodic.tick();
  }

  private async check(): Promise<void> {
    for (const service of this.registry.list()) {
      if (service.profile === 'local' || !service.jobId || !ACTIVE.has(service.status)) continue;
      try {
        const report = await this.launcherFor(this.profiles.get(service.profile)).status(service.jobId);
        await withServiceLock(service.id, async () => {
          const current = this.registry.find(service.id);
          if (!current || !unchanged(current, service)) return;
          const change = statusChange(current, report);
          if (!change) return;
          if (change.status === 'SUBMITTED' && current.status !== 'SUBMITTED') {
            this.logger.warn({ service: service.name, job: service.jobId, reason: change.details.reason }, 'job requeued: service back to SUBMITTED');
          }
          await this.registry.setStatus(service.id, change.status, change.details);
        });
      } catch (err) {
        this.logger.warn({ service: service.name, err: (err as Error).message }, 'could not poll the scheduler');
      }
    }
  }
}
