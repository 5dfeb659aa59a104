import type { Logger } from 'pino';
import { Periodic } from './periodic.js';
import type { ServiceRegistry } from './service-registry.js';
import type { ServiceRunner } from './service-runner.js';

export interface IdleReaperOptions {
  registry: ServiceRegistry;
  runner: ServiceRunner;
  /** The clock (ms), the runner's request activity is on the same one; tests move it ahead. */
  now?: () => number;
  /** How often the production timer ticks. */
  intervalMs?: number;
  logger?: Logger;
}

/**
 * Scale to zero: a RUNNING service with idle_minutes, no request in flight,
 * and no activity (its last request arriving or finishing, or it becoming
 * RUNNING) for that long is put to sleep (ServiceRunner.sleep: SLEEPING, its
 * model unloaded or its job cancelled). The next request wakes it.
 */
export class IdleReaper {
  private readonly now: () => number;
  private readonly periodic: Periodic<string[]>;

  constructor(private readonly options: IdleReaperOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new Periodic(() => this.check(), [], options.intervalMs ?? 2000);
  }

  start(): void {
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  /** Puts every service idle long enough to sleep; resolves with the names of those that went SLEEPING. */
  tick(): Promise<string[]> {
    return this.periodic.tick();
  }

  private async check(): Promise<string[]> {
    const slept: string[] = [];
    const now = this.now();
    for (const service of this.options.registry.list()) {
      if (service.fromRepository || service.status !== 'RUNNING' || !service.idleMinutes || service.idleMinutes <= 0) continue;
      const { inFlight, lastActiveMs } = this.options.runner.activity(service.id);
      if (inFlight > 0) continue;
      const stored = service.lastRequestAt ? Date.parse(service.lastRequestAt) : 0;
      const lastActive = Math.max(lastActiveMs, Date.parse(service.updatedAt), stored);
      if (now - lastActive < service.idleMinutes * 60_000) continue;
      try {
        const after = await this.options.runner.sleep(service);
        if (after?.status === 'SLEEPING') slept.push(service.name);
      } catch (err) {
        this.options.logger?.warn({ service: service.name, err: (err as Error).message }, 'could not put the idle service to sleep');
      }
    }
    return slept;
  }
}
