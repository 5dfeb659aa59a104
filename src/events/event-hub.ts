import type { JobView } from '../jobs/job.js';
import type { ProfileBox } from '../boxes/box-controller.js';
import type { WorkerInfo } from '../dispatch/inference-dispatcher.js';
import type { ModelRecord } from '../repository/model-record.js';
import type { ServiceRecord } from '../services/service-record.js';

/** A change to something the UI shows, as the part that made it publishes it. */
export type Change =
  | { type: 'service' | 'service-deleted'; service: ServiceRecord }
  | { type: 'model' | 'model-deleted'; model: ModelRecord }
  | { type: 'worker' | 'worker-deleted'; worker: WorkerInfo }
  | { type: 'job' | 'job-deleted'; job: JobView }
  | { type: 'box'; box: ProfileBox };

/** A published change with its id: ids increase by one per change. */
export type HubEvent = Change & { id: number };

/**
 * The gateway's changes in one place: the service registry, the model
 * repository, the worker pool (or the Redis workers' heartbeats) and the job
 * queue publish here, and GET /api/events streams them. The last `capacity`
 * events are kept so a client that reconnects with Last-Event-ID gets what it
 * missed. Ids start from the boot time in microseconds, so a restarted
 * gateway's ids are above any id the previous run handed out.
 *
 * @example
 * const hub = new EventHub();
 * const stop = hub.subscribe((e) => console.log(e.id, e.type));
 * hub.publish({ type: 'service', service });
 * stop();
 */
export class EventHub {
  private readonly ring: HubEvent[] = [];
  private readonly listeners = new Set<(event: HubEvent) => void>();
  private last: number;

  constructor(private readonly capacity = 1000, firstId = Date.now() * 1000) {
    this.last = firstId - 1;
  }

  /** The id of the newest event (one below the first id before any). */
  get lastId(): number {
    return this.last;
  }

  publish(change: Change): void {
    const event = { ...change, id: ++this.last } as HubEvent;
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of [...this.listeners]) listener(event);
  }

  subscribe(listener: (event: HubEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** How many subscribers there are (the events route's tests check that a closed stream leaves none). */
  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * The events after `id`, or undefined when they cannot all be given: some
   * have left the ring, or the id was never handed out by this run.
   */
  since(id: number): HubEvent[] | undefined {
    if (!Number.isSafeInteger(id) || id > this.last) return undefined;
    const oldest = this.ring[0]?.id ?? this.last + 1;
    if (id < oldest - 1) return undefined;
    return this.ring.filter((e) => e.id > id);
  }
}
