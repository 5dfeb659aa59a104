import pg from 'pg';
import { PolledLeadership } from './leadership.js';

/** One advisory lock number for the whole deployment ("corral" in ASCII). */
const LOCK_KEY = 0x636f7272616c;

/**
 * Leadership through a PostgreSQL session advisory lock, on a connection of its
 * own: the lock lives exactly as long as that session, so a leader killed with
 * `kill -9` loses it as soon as the server sees the connection close, and the
 * next poll of another gateway takes it.
 */
export class PostgresLeadership extends PolledLeadership {
  readonly kind = 'postgres';
  private client: pg.Client | undefined;

  constructor(private readonly url: string, intervalMs = 1000) {
    super(intervalMs);
  }

  protected async acquire(): Promise<boolean> {
    const client = await this.connection();
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [LOCK_KEY]);
    return rows[0]!.locked;
  }

  protected async holds(): Promise<boolean> {
    // The lock is the session's: while this connection answers, it is still held.
    const client = await this.connection();
    const { rows } = await client.query<{ held: boolean }>(
      "select exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted) as held");
    return rows[0]!.held;
  }

  protected async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined); // ending the session releases the lock
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, application_name: 'corral-leadership' });
    // A lost connection is noticed by the next query; without a listener 'error' would crash the process.
    client.on('error', () => { if (this.client === client) this.client = undefined; });
    await client.connect();
    this.client = client;
    return client;
  }
}
