import type { Logger } from 'pino';
import { CorralError } from '../errors/index.js';
import type { HubEvent } from '../events/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { RequestTrace } from '../tracing/index.js';
import type { ServiceRecord, ServiceState } from './service-record.js';

/** The reason a service carries from the moment a request (or POST .../start) wakes it. */
export const WOKEN_BY_REQUEST = 'woken by request';

/** States a wake passes through on its way to RUNNING. */
const WAKING: ReadonlySet<ServiceState> = new Set(['SUBMITTED', 'STARTING']);

export interface WakeGateOptions {
  /** Held requests per service past which more get 429 (a service's own wake_max_queued wins). */
  maxQueued: number;
  /** Seconds held requests wait for RUNNING before they all get 503 (a service's own wake_timeout_s wins). */
  timeoutS: number;
  /** The service's state now (from the registry), checked once the wake has begun. */
  current: (id: string) => ServiceRecord | undefined;
  /** Hears of every service change (the registry's EventHub); returns the function that stops listening. */
  subscribe: (listener: (event: HubEvent) => void) => () => void;
  metrics?: CorralMetrics;
  logger?: Logger;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  stopWatching: () => void;
}

interface Wake {
  name: string;
  waiters: Waiter[];
  startedAt: number;
  /** True once the wake's own first state (SUBMITTED "woken by request") is written: earlier events are the old state's. */
  armed: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Holds the requests of a service that is waking: one wake at a time per
 * service; held requests resume in arrival order once it is RUNNING, and all
 * get 503 (SERVICE_NOT_READY, with the reason) if the start ends any other way
 * or takes longer than its wake timeout. Past the service's wake_max_queued,
 * new requests get 429 WAKE_QUEUE_FULL with Retry-After; a held request whose
 * client disconnects leaves the queue.
 */
export class WakeGate {
  private readonly wakes = new Map<string, Wake>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: WakeGateOptions) {
    this.unsubscribe = options.subscribe((event) => {
      if (event.type === 'service') this.notify(event.service);
      else if (event.type === 'service-deleted') this.settle(event.service.id, new CorralError('SERVICE_NOT_FOUND', `Service '${event.service.name}' was deleted while it woke.`));
    });
  }

  /** A wake of this service is under way. */
  isWaking(id: string): boolean {
    return this.wakes.has(id);
  }

  /** Requests of this service held now. */
  held(id: string): number {
    return this.wakes.get(id)?.waiters.length ?? 0;
  }

  /**
   * Begins a wake of `service` (unless one is under way) with no request held
   * yet, e.g. for POST /api/services/<id>/start. `begin` writes the wake's
   * first state and sets the start going; it is called at most once per wake.
   */
  wake(service: ServiceRecord, begin: () => Promise<unknown>): void {
    if (!this.wakes.has(service.id)) this.open(service, begin);
  }

  /**
   * Holds a request until `service` is RUNNING; starts a wake with `begin`
   * when none is under way (`begin` undefined: the service is starting
   * already, only wait for it).
   */
  hold(service: ServiceRecord, trace: RequestTrace | undefined, begin: (() => Promise<unknown>) | undefined): Promise<void> {
    const existing = this.wakes.get(service.id);
    const max = service.wakeMaxQueued ?? this.options.maxQueued;
    if (existing && existing.waiters.length >= max) {
      const retryAfter = Math.max(1, Math.ceil(Math.min(this.timeoutOf(service) - (Date.now() - existing.startedAt) / 1000, 30)));
      throw new CorralError('WAKE_QUEUE_FULL', `Service '${service.name}' is waking and already holds ${max} requests (wake_max_queued); retry after ${retryAfter} s.`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    if (trace?.clientGone) throw new CorralError('CLIENT_CLOSED', 'The client closed its connection before its request ran.');
    const wake = existing ?? this.open(service, begin);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, reject,
        stopWatching: trace?.onClientGone(() => {
          const i = wake.waiters.indexOf(waiter);
          if (i < 0) return;
          wake.waiters.splice(i, 1);
          this.gauge(wake);
          reject(new CorralError('CLIENT_CLOSED', 'The client closed its connection while its service woke.'));
        }) ?? (() => undefined),
      };
      wake.waiters.push(waiter);
      this.gauge(wake);
    });
  }

  /** Rejects every held request and stops listening (the gateway closes). */
  close(): void {
    this.unsubscribe();
    for (const id of [...this.wakes.keys()]) this.settle(id, new CorralError('SERVICE_NOT_READY', 'The gateway is shutting down.'));
  }

  private open(service: ServiceRecord, begin: (() => Promise<unknown>) | undefined): Wake {
    const timeoutS = this.timeoutOf(service);
    const wake: Wake = {
      name: service.name, waiters: [], startedAt: Date.now(), armed: false,
      timer: setTimeout(() => {
        this.options.metrics?.serviceWakes.inc({ service: service.name, outcome: 'timeout' });
        this.settle(service.id, new CorralError('SERVICE_NOT_READY', `Service '${service.name}' did not wake within ${timeoutS} s (wake_timeout_s).`, { headers: { 'retry-after': '5' } }));
      }, timeoutS * 1000),
    };
    wake.timer.unref();
    this.wakes.set(service.id, wake);
    this.options.logger?.info({ service: service.name }, begin ? 'waking service' : 'holding requests while the service starts');
    const armed = begin ? begin() : Promise.resolve();
    armed.then(() => {
      if (this.wakes.get(service.id) !== wake) return;
      wake.armed = true;
      const now = this.options.current(service.id);
      if (now) this.notify(now);
    }, (err: Error) => {
      if (this.wakes.get(service.id) !== wake) return;
      this.options.metrics?.serviceWakes.inc({ service: service.name, outcome: 'failed' });
      this.settle(service.id, new CorralError('SERVICE_NOT_READY', `Service '${service.name}' could not be woken: ${err.message}`));
    });
    return wake;
  }

  /** A service's state changed: RUNNING resumes its held requests; any state but SUBMITTED/STARTING fails them. */
  notify(service: ServiceRecord): void {
    const wake = this.wakes.get(service.id);
    if (!wake || !wake.armed || WAKING.has(service.status)) return;
    if (service.status === 'RUNNING') {
      this.options.metrics?.serviceWakes.inc({ service: wake.name, outcome: 'ok' });
      this.options.metrics?.serviceWakeSeconds.observe({ service: wake.name }, (Date.now() - wake.startedAt) / 1000);
      this.settle(service.id);
      return;
    }
    this.options.metrics?.serviceWakes.inc({ service: wake.name, outcome: 'failed' });
    const reason = service.reason ? `: ${service.reason}` : '';
    this.settle(service.id, new CorralError('SERVICE_NOT_READY', `Service '${service.name}' did not wake: it is ${service.status}${reason}.`));
  }

  /** Ends a wake: its held requests resume in arrival order, or all get `err`. */
  private settle(id: string, err?: Error): void {
    const wake = this.wakes.get(id);
    if (!wake) return;
    this.wakes.delete(id);
    clearTimeout(wake.timer);
    const waiters = wake.waiters.splice(0);
    this.gauge(wake);
    for (const w of waiters) {
      w.stopWatching();
      if (err) w.reject(err);
      else w.resolve();
    }
  }

  private timeoutOf(service: ServiceRecord): number {
    return service.wakeTimeoutS ?? this.options.timeoutS;
  }

  private gauge(wake: Wake): void {
    this.options.metrics?.serviceHeldRequests.set({ service: wake.name }, wake.waiters.length);
  }
}
