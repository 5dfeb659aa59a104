import type { Logger } from 'pino';
import type { CorralConfig } from '../config/config.js';
import { CorralError } from '../errors/index.js';
import type { InferenceService } from '../inference/index.js';
import type { Launcher } from '../launchers/launcher.js';
import type { Profile, ProfileStore } from '../profiles/index.js';
import { checkHostEndpoint } from './host-endpoint.js';
import { jobFor } from './job-command.js';
import { invokeRemote } from './remote-invoke.js';
import type { ServiceRecord } from './service-record.js';
import type { ServiceRegistry } from './service-registry.js';
import { withServiceLock } from './service-monitor.js';
import { serviceTarget } from './service-target.js';
import { hostCredentialOf, newServiceToken, tokenHashOf } from './service-token.js';
import type { Task } from './tasks.js';
import type { RequestTrace } from '../tracing/index.js';
import type { EventHub } from '../events/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { ServiceState } from './service-record.js';
import { WakeGate, WOKEN_BY_REQUEST } from './wake-gate.js';
import { loadSharp } from '../preprocessing/load-sharp.js';

/** States a request wakes a service from (when it has wake_on_request). */
const WAKEABLE: ReadonlySet<ServiceState> = new Set(['SLEEPING', 'PREEMPTED', 'TIMEOUT']);
/** last_request_at is written to the database at most this often per service (and when it goes to sleep). */
const PERSIST_LAST_REQUEST_MS = 5000;

/** What the runner knows of a service's requests (in memory). */
interface Activity {
  /** Requests running or held now. */
  inFlight: number;
  /** When the last request arrived (clock ms); 0 never. */
  lastRequestMs: number;
  /** When the last request finished (clock ms); 0 never. */
  lastFinishedMs: number;
  /** When last_request_at was last written. */
  persistedMs: number;
  persistTimer?: NodeJS.Timeout;
}

/** Makes the launcher for a non-local profile (Slurm today, cloud later). */
export type LauncherFactory = (profile: Profile) => Launcher;

export interface RunnerDeps {
  registry: ServiceRegistry;
  inference: InferenceService;
  config: CorralConfig;
  logger: Logger;
  profiles: ProfileStore;
  launcherFor: LauncherFactory;
  /** The gateway's URL as a job on the cluster can reach it. */
  gatewayUrl: () => string;
  /** The registry's change feed: a waking service's held requests resume when it reports RUNNING. */
  events?: EventHub;
  metrics?: CorralMetrics;
  /** The clock of request activity (ms); tests pass one with the idle reaper's. */
  now?: () => number;
}

/**
 * Starts, stops and runs services wherever their profile puts them. On the
 * local profile a service runs in the gateway's own workers and goes RUNNING
 * once a probe request answers; on a cluster profile it is submitted as a job,
 * and goes RUNNING when that job's host registers its endpoint.
 */
export class ServiceRunner {
  /** Requests held while their service wakes. */
  readonly gate: WakeGate;
  private readonly activities = new Map<string, Activity>();
  /** Services being put to sleep: a request arriving meanwhile waits for that, then wakes it. */
  private readonly sleeping = new Map<string, Promise<unknown>>();
  /** Wakes under way: begun once SUBMITTED "woken by request" is written; started once the start settled. */
  private readonly wakeRuns = new Map<string, { begun: Promise<ServiceRecord>; started: Promise<ServiceRecord> }>();
  private readonly now: () => number;

  constructor(private readonly deps: RunnerDeps) {
    this.now = deps.now ?? Date.now;
    this.gate = new WakeGate({
      maxQueued: deps.config.wakeMaxQueued ?? 100,
      timeoutS: deps.config.wakeTimeoutS ?? 600,
      current: (id) => deps.registry.find(id),
      subscribe: (listener) => deps.events?.subscribe(listener) ?? (() => undefined),
      metrics: deps.metrics,
      logger: deps.logger,
    });
  }

  /**
   * Sends one request to a RUNNING service; anything else answers 503 with its state,
   * except a SLEEPING (PREEMPTED, TIMEOUT) service with wake_on_request: the request
   * is held while it wakes (see WakeGate) and then runs.
   * `trace` (the gateway's request) names it on its way and receives its timing.
   */
  async run<O>(service: ServiceRecord, input: unknown, onChunk?: (data: unknown) => void, trace?: RequestTrace): Promise<O> {
    if (service.fromRepository) throw new CorralError('BAD_REQUEST', `'${service.name}' is a raw ONNX model: send tensors to /v2/models/${service.name}/infer.`);
    return this.tracked(service, async () => {
      const ready = await this.ready(service, trace);
      if (ready.profile !== 'local') {
        if (!ready.endpoint) throw new CorralError('SERVICE_NOT_READY', `Service '${ready.name}' has no endpoint yet.`);
        return invokeRemote({ endpoint: ready.endpoint, name: ready.name, hostCredential: ready.hostCredential ?? null }, input, onChunk, trace) as Promise<O>;
      }
      return this.deps.inference.submit(this.target(ready), input, onChunk, trace) as Promise<O>;
    });
  }

  /**
   * Runs `fn` as one request of `service`: counted in flight (the idle reaper
   * never puts a service to sleep under it) and recorded as its last request.
   */
  async tracked<T>(service: ServiceRecord, fn: () => Promise<T>): Promise<T> {
    const activity = this.activityOf(service.id);
    activity.inFlight++;
    activity.lastRequestMs = this.now();
    this.persistLastRequest(service.id, activity);
    try {
      return await fn();
    } finally {
      activity.inFlight--;
      activity.lastFinishedMs = this.now();
    }
  }

  /** What the idle reaper needs of a service: its requests in flight (held included) and when the last one finished or arrived. */
  activity(id: string): { inFlight: number; lastActiveMs: number } {
    const a = this.activities.get(id);
    return { inFlight: a?.inFlight ?? 0, lastActiveMs: Math.max(a?.lastFinishedMs ?? 0, a?.lastRequestMs ?? 0) };
  }

  /** What GET /api/services/<id> adds to the stored record: the last request (even if not written yet) and the held requests. */
  live(service: ServiceRecord): { lastRequestAt: string | null; heldRequests: number } {
    const ms = this.activities.get(service.id)?.lastRequestMs ?? 0;
    return { lastRequestAt: ms > 0 ? new Date(ms).toISOString() : service.lastRequestAt ?? null, heldRequests: this.gate.held(service.id) };
  }

  /**
   * The service as it can take a request now: RUNNING; or, when it sleeps (or is
   * waking) and has wake_on_request, once it has woken. Otherwise the 503.
   */
  private async ready(service: ServiceRecord, trace: RequestTrace | undefined): Promise<ServiceRecord> {
    const sleeping = this.sleeping.get(service.id);
    if (sleeping) await sleeping;
    const current = this.deps.registry.find(service.id) ?? service;
    if (current.status === 'RUNNING') return current;
    if (!this.holds(current)) {
      this.assertReady(current);
      return current;
    }
    await this.gate.hold(current, trace, WAKEABLE.has(current.status) ? () => this.beginWake(current, WOKEN_BY_REQUEST).begun : undefined);
    return this.deps.registry.get(service.id);
  }

  /** Whether a request to this service is held (it wakes, or is waking) rather than refused. */
  private holds(service: ServiceRecord): boolean {
    if (!service.wakeOnRequest || service.fromRepository) return false;
    if (WAKEABLE.has(service.status)) return true;
    return (service.status === 'SUBMITTED' || service.status === 'STARTING') && (this.gate.isWaking(service.id) || service.reason === WOKEN_BY_REQUEST);
  }

  /** Throws the 503 (with its state and reason) for a service that cannot take requests (one that would wake passes). */
  assertReady(service: ServiceRecord): void {
    if (service.status === 'RUNNING') return;
    if (this.holds(this.deps.registry.find(service.id) ?? service)) return;
    const reason = service.reason ? `: ${service.reason}` : '';
    const pending = service.status === 'STARTING' || service.status === 'SUBMITTED';
    throw new CorralError('SERVICE_NOT_READY', `Service '${service.name}' is ${service.status}${reason}.`, { headers: pending ? { 'retry-after': '2' } : {} });
  }

  /**
   * Brings a new service up; resolves with its state once that is settled or handed to the scheduler.
   * Each job launch gets a fresh token: the gateway stores only its hash (and the
   * credential derived from it for calling the job's host); the plaintext goes
   * into the job's environment and nowhere else.
   */
  async start(service: ServiceRecord): Promise<ServiceRecord> {
    const { registry, logger } = this.deps;
    if (service.profile !== 'local') {
      const profile = this.deps.profiles.get(service.profile);
      try {
        const token = newServiceToken();
        await registry.setLaunchToken(service.id, { tokenHash: tokenHashOf(token), hostCredential: hostCredentialOf(token) });
        const { jobId } = await this.deps.launcherFor(profile).launch(jobFor(service, profile, this.deps.gatewayUrl(), this.deps.config.allowRemoteModels, token));
        // A host quick enough to have reported already (RUNNING, or FAILED with its reason) keeps that state.
        const reported = registry.find(service.id)?.status;
        return await registry.setStatus(service.id, reported === 'RUNNING' || reported === 'FAILED' ? reported : 'SUBMITTED', { jobId });
      } catch (err) {
        // FAILED also clears the token: no job holds it.
        return registry.setStatus(service.id, 'FAILED', { reason: `Submitting the job failed: ${(err as Error).message}` });
      }
    }
    try {
      await this.deps.inference.submit(this.target(service), await probeInput(service.task));
      return await registry.setStatus(service.id, 'RUNNING', { reason: null });
    } catch (err) {
      const reason = (err as Error).message;
      logger.warn({ service: service.name, reason }, 'service failed to start');
      this.deps.inference.retire(this.target(service).ref.key);
      return registry.setStatus(service.id, 'FAILED', { reason });
    }
  }

  /**
   * Wakes a SLEEPING (PREEMPTED, TIMEOUT) service, one wake at a time: SUBMITTED
   * "woken by request" (or `reason`: the BoxRestarter restarts a preempted service
   * this way too, so a request and a restart never launch it twice), then as start (locally STARTING, the probe, RUNNING; a
   * job: a fresh launch, RUNNING when its host registers). Requests arriving
   * meanwhile are held. Resolves once the wake has begun, with that record and
   * the start's outcome (as start resolves).
   */
  async wake(service: ServiceRecord, reason = WOKEN_BY_REQUEST): Promise<{ record: ServiceRecord; started: Promise<ServiceRecord> }> {
    let run = this.wakeRuns.get(service.id);
    if (!run) this.gate.wake(service, () => (run = this.beginWake(service, reason)).begun);
    run ??= this.wakeRuns.get(service.id);
    if (!run) {
      const current = this.deps.registry.get(service.id);
      return { record: current, started: Promise.resolve(current) };
    }
    return { record: await run.begun, started: run.started };
  }

  private beginWake(service: ServiceRecord, reason: string): { begun: Promise<ServiceRecord>; started: Promise<ServiceRecord> } {
    const existing = this.wakeRuns.get(service.id);
    if (existing) return existing;
    const { registry, logger } = this.deps;
    let ours = true;
    const begun = (async () => {
      const sleeping = this.sleeping.get(service.id);
      if (sleeping) await sleeping;
      // Claimed in the database: when another gateway of the deployment woke it first, this
      // one starts nothing; its held requests are let through when the service turns RUNNING here.
      const claimed = await registry.claim(service.id, 'SUBMITTED', { reason, endpoint: null, jobId: null, sleepingSince: null });
      ours = claimed !== undefined;
      return claimed ?? registry.get(service.id);
    })();
    const started = begun.then(async (record) => {
      if (!ours) return record;
      const starting = record.profile === 'local' ? await registry.setStatus(record.id, 'STARTING', {}) : record;
      const result = await this.start(starting);
      this.gate.notify(registry.find(record.id) ?? result);
      return result;
    });
    const run = { begun, started };
    this.wakeRuns.set(service.id, run);
    started.catch((err: Error) => logger.warn({ service: service.name, err: err.message }, 'waking the service failed'))
      .finally(() => { if (this.wakeRuns.get(service.id) === run) this.wakeRuns.delete(service.id); });
    return run;
  }

  /**
   * Puts an idle RUNNING service to sleep (the idle reaper calls it): never
   * with a request in flight; locally its model is unloaded, a job is
   * cancelled; SLEEPING with sleeping_since, no endpoint. Resolves with the
   * record (unchanged when it could not sleep).
   */
  async sleep(service: ServiceRecord): Promise<ServiceRecord | undefined> {
    const id = service.id;
    if (service.fromRepository || this.sleeping.has(id) || this.activity(id).inFlight > 0) return this.deps.registry.find(id);
    const { registry, logger } = this.deps;
    const put = withServiceLock(id, async () => {
      const current = registry.find(id);
      // A request that arrived since is in flight (waiting for this): it keeps the service up.
      if (!current || current.status !== 'RUNNING' || this.activity(id).inFlight > 0) return current;
      const activity = this.activities.get(id);
      clearTimeout(activity?.persistTimer);
      const lastRequestAt = activity && activity.lastRequestMs > 0 ? new Date(activity.lastRequestMs).toISOString() : undefined;
      const slept = await registry.setStatus(id, 'SLEEPING', {
        endpoint: null, sleepingSince: new Date(this.now()).toISOString(), lastRequestAt,
        reason: `no request for ${current.idleMinutes} min (idle_minutes)`,
      });
      if (current.profile === 'local') {
        await this.deps.inference.retire(this.target(current).ref.key);
      } else if (current.jobId) {
        await this.deps.launcherFor(this.deps.profiles.get(current.profile)).stop(current.jobId)
          .catch((err: Error) => logger.warn({ service: current.name, job: current.jobId, err: err.message }, 'could not cancel the sleeping service\'s job'));
      }
      this.deps.metrics?.serviceSleeps.inc({ service: current.name });
      logger.info({ service: current.name, idleMinutes: current.idleMinutes }, 'service idle: now SLEEPING');
      return slept;
    });
    this.sleeping.set(id, put);
    try {
      return await put;
    } finally {
      this.sleeping.delete(id);
    }
  }

  /**
   * Stops a service: local ones unload at once; a job is cancelled and the
   * monitor records STOPPED when the scheduler confirms it. A SLEEPING
   * service has nothing running: it is STOPPED at once (and no longer wakes).
   */
  async stop(service: ServiceRecord): Promise<ServiceRecord> {
    if (service.fromRepository) throw new CorralError('BAD_REQUEST', `'${service.name}' is a repository model; it cannot be stopped, only deleted.`);
    if (service.status === 'SLEEPING') return this.deps.registry.setStatus(service.id, 'STOPPED', { endpoint: null, sleepingSince: null });
    if (service.profile === 'local') {
      this.deps.inference.retire(this.target(service).ref.key);
      return this.deps.registry.setStatus(service.id, 'STOPPED', { endpoint: null });
    }
    if (service.jobId && ['SUBMITTED', 'STARTING', 'RUNNING'].includes(service.status)) {
      await this.deps.launcherFor(this.deps.profiles.get(service.profile)).stop(service.jobId);
    }
    return service;
  }

  /**
   * A job's host reports in: its endpoint (→ RUNNING) or why it could not start (→ FAILED).
   * A job Slurm requeued runs again and registers again: the service is back to
   * SUBMITTED (or STARTING) by then and takes the new endpoint. The check and the
   * write run under the service's lock, on its current record, so the monitor
   * cannot write over them with an older scheduler report.
   */
  async register(service: ServiceRecord, report: { endpoint?: string; error?: string }): Promise<ServiceRecord> {
    if (report.error === undefined && !report.endpoint) throw new CorralError('BAD_REQUEST', 'Send {"endpoint": "http://host:port"} or {"error": "..."}.');
    return withServiceLock(service.id, async () => {
      const current = this.deps.registry.find(service.id) ?? service;
      if (report.error !== undefined) return this.deps.registry.setStatus(current.id, 'FAILED', { reason: report.error, endpoint: null });
      if (['STOPPED', 'FAILED', 'TIMEOUT', 'SLEEPING'].includes(current.status)) {
        throw new CorralError('BAD_REQUEST', `Service '${current.name}' is ${current.status}; a host cannot revive it.`);
      }
      const endpoint = checkHostEndpoint(report.endpoint!);
      return this.deps.registry.setStatus(current.id, 'RUNNING', { endpoint, reason: null });
    });
  }

  /** Stops listening for service changes; held requests get 503. */
  close(): void {
    this.gate.close();
    for (const a of this.activities.values()) clearTimeout(a.persistTimer);
  }

  private activityOf(id: string): Activity {
    let a = this.activities.get(id);
    if (!a) this.activities.set(id, a = { inFlight: 0, lastRequestMs: 0, lastFinishedMs: 0, persistedMs: 0 });
    return a;
  }

  /** Writes last_request_at now if it was not written in the last few seconds, else once they have passed. */
  private persistLastRequest(id: string, a: Activity): void {
    if (a.persistTimer) return;
    const write = () => {
      a.persistTimer = undefined;
      a.persistedMs = this.now();
      this.deps.registry.recordLastRequest(id, new Date(a.lastRequestMs).toISOString())
        .catch((err: Error) => this.deps.logger.warn({ service: id, err: err.message }, 'could not record the last request'));
    };
    const wait = a.persistedMs + PERSIST_LAST_REQUEST_MS - this.now();
    if (wait <= 0) write();
    else {
      a.persistTimer = setTimeout(write, Math.min(wait, PERSIST_LAST_REQUEST_MS));
      a.persistTimer.unref();
    }
  }

  /** Forgets a deleted service's loaded model. */
  retire(service: ServiceRecord): void {
    const a = this.activities.get(service.id);
    clearTimeout(a?.persistTimer);
    this.activities.delete(service.id);
    if (service.profile === 'local') this.deps.inference.retire(this.target(service).ref.key);
  }

  private target(service: ServiceRecord) {
    return serviceTarget(service, this.deps.config.batching);
  }
}

/** The smallest real request of each task, to prove a service loads and answers. */
async function probeInput(task: Task): Promise<unknown> {
  switch (task) {
    case 'zero-shot-classification':
      return { texts: ['Corral is starting.'], options: { labels: ['start', 'stop'] } };
    case 'text-generation':
      return { prompt: 'Hello', maxNewTokens: 1 };
    case 'ocr':
      return { image: await (await loadSharp())({ create: { width: 32, height: 32, channels: 3, background: 'white' } }).png().toBuffer() };
    case 'tensor':
      throw new CorralError('INVALID_SERVICE', 'Raw ONNX models are served from the model repository; upload them with PUT /api/v1/models/<name>.');
    default:
      return { texts: ['Corral is starting.'] };
  }
}
