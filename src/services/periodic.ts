/**
 * A background check run every `intervalMs` (its timer never keeps the process
 * alive), one run at a time: a tick that finds one under way does nothing and
 * resolves with `busy`. The scheduler monitor, the idle reaper and the box
 * restarter each run as one; tests call `tick()` themselves.
 */
export class Periodic<T> {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly check: () => Promise<T>, private readonly busy: T, private readonly intervalMs: number) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<T> {
    if (this.running) return this.busy;
    this.running = true;
    try {
      return await this.check();
    } finally {
      this.running = false;
    }
  }
}
