import pg from 'pg';
import { changeMessage, TopicListeners, type ChangeBus, type ChangeTopic } from './change-bus.js';

const CHANNEL = 'corral_changes';

/**
 * Changes between gateways over PostgreSQL LISTEN/NOTIFY, on one connection of its
 * own. NOTIFY is delivered when the writing transaction commits, so a gateway that
 * hears of a change always reads the committed row. A lost connection is opened
 * again on the next publish or by the reconnect timer.
 */
export class PostgresChanges implements ChangeBus {
  private readonly listeners = new TopicListeners();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly url: string) {}

  async publish(topic: ChangeTopic, id: string): Promise<void> {
    const client = await this.connection();
    await client.query('select pg_notify($1, $2)', [CHANNEL, changeMessage(topic, id)]);
  }

  async subscribe(topic: ChangeTopic, listener: (id: string) => void): Promise<void> {
    this.listeners.add(topic, listener);
    await this.connection();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'corral-changes' });
    client.on('notification', (n) => { if (n.channel === CHANNEL && n.payload) this.listeners.deliver(n.payload); });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.client = client;
    return client;
  }

  /** Listens again soon: changes made while disconnected are missed, so the next read-through catches up. */
  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed) return;
    this.retry = setTimeout(() => void this.connection().catch(() => this.lost(client)), 1000).unref();
  }
}
