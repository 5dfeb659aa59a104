/**
 * Which gateway of a deployment runs the once-per-deployment work: the scheduler
 * monitor, the idle reaper and the box restarter. With several gateways on one
 * PostgreSQL database, every gateway competes and one holds the lock; when it
 * dies another takes over within a few seconds. A gateway alone (SQLite) always leads.
 */
export interface Leadership {
  readonly kind: 'solo' | 'postgres' | 'redis';
  isLeader(): boolean;
  /** Calls `onChange(true)` when this gateway becomes the leader and `onChange(false)` when it stops being one. */
  start(onChange: (leader: boolean) => void): void;
  /** Gives the lead up (another gateway takes over at once) and stops competing. */
  stop(): Promise<void>;
}

/** The only gateway of its state: always the leader. */
export class SoloLeadership implements Leadership {
  readonly kind = 'solo';
  isLeader(): boolean {
    return true;
  }
  start(onChange: (leader: boolean) => void): void {
    onChange(true);
  }
  async stop(): Promise<void> {}
}

/**
 * The polling loop shared by the lock-based leaderships: every `intervalMs` a
 * follower tries to take the lock and the leader proves it still holds it; a
 * failed proof (connection lost, lock gone) deposes it.
 */
export abstract class PolledLeadership implements Leadership {
  abstract readonly kind: 'postgres' | 'redis';
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private onChange: (leader: boolean) => void = () => undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(protected readonly intervalMs: number) {}

  /** Tries to take the lock; true when this gateway now holds it. */
  protected abstract acquire(): Promise<boolean>;
  /** True while the lock is still this gateway's. */
  protected abstract holds(): Promise<boolean>;
  /** Lets the lock go and closes connections. */
  protected abstract release(): Promise<void>;

  isLeader(): boolean {
    return this.leader;
  }

  start(onChange: (leader: boolean) => void): void {
    this.onChange = onChange;
    const poll = () => {
      this.polling = this.poll();
      void this.polling.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(poll, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(poll, 0).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    this.set(false);
    await this.release();
  }

  private async poll(): Promise<void> {
    let leader: boolean;
    try {
      leader = this.leader ? await this.holds() : await this.acquire();
    } catch {
      leader = false; // unreachable store: not the leader until it answers again
    }
    if (this.timer !== undefined) this.set(leader);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.onChange(leader);
  }
}
