import { useEffect, useState } from 'preact/hooks';
import { api, UNAUTHORIZED_EVENT } from './api';
import type { Job, Model, Service, SessionView, Snapshot, Worker } from './types';

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface LiveState {
  connection: Connection;
  /** False until the first snapshot: the tables say "Loading…" rather than "none". */
  loaded: boolean;
  services: Map<string, Service>;
  models: Map<string, Model>;
  workers: Map<string, Worker>;
  jobs: Map<string, Job>;
}

const empty = (): LiveState => ({ connection: 'connecting', loaded: false, services: new Map(), models: new Map(), workers: new Map(), jobs: new Map() });

/**
 * Services, models, workers and jobs as GET /api/events tells them: a
 * snapshot, then one event per change; no polling. EventSource resumes by
 * itself with Last-Event-ID; when the stream is refused (the session ended) or
 * stays down, the store asks /api/session and either sends the app to the
 * login or opens a new stream (which starts with a fresh snapshot).
 */
class LiveStore {
  state: LiveState = empty();
  private source: EventSource | undefined;
  private readonly listeners = new Set<(s: LiveState) => void>();
  private retry: ReturnType<typeof setTimeout> | undefined;

  start(): void {
    if (this.source) return;
    const source = new EventSource('/api/events');
    this.source = source;
    const on = <T>(name: string, apply: (data: T) => void) => source.addEventListener(name, (e) => {
      apply(JSON.parse((e as MessageEvent<string>).data) as T);
      this.emit();
    });
    source.onopen = () => this.set({ connection: 'live' });
    source.onerror = () => {
      if (source.readyState === EventSource.CONNECTING) return this.set({ connection: 'reconnecting' });
      // CLOSED: the browser gave up (a 401, a 5xx). Find out why, then try again.
      this.set({ connection: 'reconnecting' });
      this.source = undefined;
      source.close();
      void api<SessionView>('/api/session').then((s) => {
        if (s.auth === 'on' && !s.principal) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
        else this.retry = setTimeout(() => this.start(), 2000);
      }, () => { this.retry = setTimeout(() => this.start(), 2000); });
    };
    on<Snapshot>('snapshot', (s) => {
      this.state = {
        ...this.state, loaded: true, connection: 'live',
        services: new Map(s.services.map((x) => [x.id, x])),
        models: new Map(s.models.map((x) => [x.model, x])),
        workers: new Map(s.workers.map((x) => [x.id, x])),
        jobs: new Map(s.jobs.map((x) => [x.id, x])),
      };
    });
    on<Service>('service', (x) => { this.state = { ...this.state, services: new Map(this.state.services).set(x.id, x) }; });
    on<{ id: string }>('service-deleted', (x) => { this.state = { ...this.state, services: without(this.state.services, x.id) }; });
    on<Model>('model', (x) => { this.state = { ...this.state, models: new Map(this.state.models).set(x.model, x) }; });
    on<{ model: string }>('model-deleted', (x) => { this.state = { ...this.state, models: without(this.state.models, x.model) }; });
    on<Worker>('worker', (x) => { this.state = { ...this.state, workers: new Map(this.state.workers).set(x.id, x) }; });
    on<{ id: string }>('worker-deleted', (x) => { this.state = { ...this.state, workers: without(this.state.workers, x.id) }; });
    on<Job>('job', (x) => { this.state = { ...this.state, jobs: new Map(this.state.jobs).set(x.id, x) }; });
    on<{ id: string }>('job-deleted', (x) => { this.state = { ...this.state, jobs: without(this.state.jobs, x.id) }; });
  }

  stop(): void {
    clearTimeout(this.retry);
    this.source?.close();
    this.source = undefined;
    this.state = empty();
    this.emit();
  }

  subscribe(listener: (s: LiveState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l(this.state);
  }
}

function without<V>(map: Map<string, V>, key: string): Map<string, V> {
  const next = new Map(map);
  next.delete(key);
  return next;
}

export const live = new LiveStore();

export function useLive(): LiveState {
  const [state, setState] = useState(live.state);
  useEffect(() => {
    setState(live.state);
    return live.subscribe(setState);
  }, []);
  return state;
}
