import type { Logger } from 'pino';
import { BOX_PROFILE_TYPES, type ProfileStore } from '../profiles/index.js';
import type { ServiceRecord } from '../services/service-record.js';
import { Periodic } from '../services/periodic.js';
import type { ServiceRegistry } from '../services/service-registry.js';

export interface BoxRestarterOptions {
  registry: ServiceRegistry;
  profiles: ProfileStore;
  /**
   * Starts a service again (ServiceRunner.wake with a reason: starts the box, launches
   * its host; shared with a request's wake, so the two never launch it twice).
   */
  wake: (service: ServiceRecord, reason: string) => Promise<unknown>;
  logger: Logger;
  /** The clock (tests move it on instead of waiting). */
  now?: () => number;
  /** Back-off before restart n (1-based): baseMs · 2^(n-1), at most maxMs. Defaults 5 s and 5 min. */
  baseMs?: number;
  maxMs?: number;
  /** Between checks (default 2 s). */
  intervalMs?: number;
}

/** Default number of restarts of a preempted service when its profile sets no max_restarts. */
export const DEFAULT_MAX_RESTARTS = 3;

/**
 * When the cloud takes a spot box back, its services become PREEMPTED (the
 * ServiceMonitor hears it from the box's provider). This starts each of them
 * again, waiting longer before each restart, up to the profile's max_restarts;
 * past that the service is FAILED with the reason. Restarting starts the box
 * again (the provider allows it from PREEMPTED) or uses another of the profile's.
 * A service a person starts again begins a fresh count.
 */
export class BoxRestarter {
  private readonly periodic: Periodic<void>;
  /** When each preempted service was first seen so, to time its back-off from. */
  private readonly seenAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: BoxRestarterOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new Periodic(() => this.check(), undefined, options.intervalMs ?? 2000);
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

  /** The wait before restart `n` (1-based). */
  backoffMs(n: number): number {
    return Math.min(this.options.maxMs ?? 300_000, (this.options.baseMs ?? 5000) * 2 ** (n - 1));
  }

  private async check(): Promise<void> {
    const { registry, profiles, logger } = this.options;
    const preempted = new Set<string>();
    for (const service of registry.list()) {
      if (service.status !== 'PREEMPTED') continue;
      const profile = profiles.list().find((p) => p.name === service.profile);
      if (!profile || !BOX_PROFILE_TYPES.has(profile.type)) continue;
      preempted.add(service.id);
      const restarts = service.restarts ?? 0;
      const max = profile.maxRestarts ?? DEFAULT_MAX_RESTARTS;
      if (restarts >= max) {
        logger.warn({ service: service.name, restarts }, 'box preempted again; restarts used up');
        await registry.setStatus(service.id, 'FAILED', { reason: `its box was preempted ${restarts + 1} times; gave up after ${max} restarts (max_restarts of profile '${profile.name}')`, endpoint: null });
        continue;
      }
      const since = this.seenAt.get(service.id) ?? this.now();
      this.seenAt.set(service.id, since);
      if (this.now() - since < this.backoffMs(restarts + 1)) continue;
      this.seenAt.delete(service.id);
      const current = registry.find(service.id);
      // Woken meanwhile by a request, or stopped by a person: nothing to restart.
      if (!current || current.status !== 'PREEMPTED') continue;
      const counted = await registry.setRestarts(service.id, restarts + 1);
      logger.warn({ service: service.name, restart: restarts + 1, max }, 'box preempted: restarting its service');
      await this.options.wake(counted, `restarted after its box was preempted (${restarts + 1} of ${max})`);
    }
    for (const id of this.seenAt.keys()) if (!preempted.has(id)) this.seenAt.delete(id);
  }
}
