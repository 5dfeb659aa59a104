import { randomUUID } from 'node:crypto';
import { CorralError } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import type { ModelRecord, ModelRepository } from '../repository/index.js';
import { validateModelName } from '../repository/model-name.js';
import type { ChangeBus } from '../changes/change-bus.js';
import type { Db } from '../store/index.js';
import type { ServicesTable } from '../store/schema.js';
import { serviceFromRow, type ServiceRecord, type ServiceState } from './service-record.js';
import type { Task } from './tasks.js';

const ENDED: ReadonlySet<ServiceState> = new Set(['STOPPED', 'FAILED', 'TIMEOUT', 'SLEEPING']);
/** On the way up: a start or wake of a service in one of these is already under way. */
const UP: ReadonlySet<ServiceState> = new Set(['SUBMITTED', 'STARTING', 'RUNNING']);

type StatusDetails = { reason?: string | null; jobId?: string | null; endpoint?: string | null; sleepingSince?: string | null; lastRequestAt?: string | null };

/** A new state and what goes with it; an ended service loses its launch token (its job can no longer register or be invoked). */
function statusPatch(status: ServiceState, details: StatusDetails): Partial<ServicesTable> {
  const patch: Partial<ServicesTable> = { status, updated_at: new Date().toISOString() };
  if (details.sleepingSince !== undefined) patch.sleeping_since = details.sleepingSince;
  if (details.lastRequestAt !== undefined) patch.last_request_at = details.lastRequestAt;
  if (details.reason !== undefined) patch.reason = details.reason;
  if (details.jobId !== undefined) patch.job_id = details.jobId;
  if (details.endpoint !== undefined) patch.endpoint = details.endpoint;
  if (ENDED.has(status)) Object.assign(patch, { token_hash: null, host_credential: null });
  return patch;
}

export type NewService = Pick<ServiceRecord, 'name' | 'runtime' | 'task' | 'model' | 'modelPath' | 'revision' | 'options' | 'replicas' | 'batching' | 'profile'>
  & Partial<Pick<ServiceRecord, 'idleMinutes' | 'wakeOnRequest' | 'wakeMaxQueued' | 'wakeTimeoutS'>>;

/**
 * Services that exist on every install: `/embed`, `/keyterms` and `/ocr` answer out of the box,
 * on every worker (replicas 0: one per worker).
 */
export const BUILTIN_SERVICES: readonly NewService[] = [
  { name: 'embed', runtime: 'embed', task: 'feature-extraction', model: 'builtin', modelPath: 'builtin', revision: null, options: {}, replicas: 0, batching: {}, profile: 'local' },
  { name: 'keyterms', runtime: 'keyterms', task: 'keyterms', model: 'builtin', modelPath: 'builtin', revision: null, options: {}, replicas: 0, batching: {}, profile: 'local' },
  { name: 'ocr', runtime: 'ocr', task: 'ocr', model: 'builtin', modelPath: 'builtin', revision: null, options: {}, replicas: 0, batching: {}, profile: 'local' },
];

/**
 * Services in the database, with an in-memory copy for the request path.
 * Every ONNX repository model also shows up as a service of task `tensor`.
 */
export class ServiceRegistry {
  private readonly services = new Map<string, ServiceRecord>();

  private constructor(
    private readonly db: Db, private readonly repository: ModelRepository,
    private readonly events?: EventHub, private readonly changes?: ChangeBus,
  ) {}

  /** `events` hears of every service created, changed (state, endpoint, token) and deleted (GET /api/events). */
  /** `changes` tells the other gateways of a deployment, and brings their changes here. */
  static async open(db: Db, repository: ModelRepository, events?: EventHub, changes?: ChangeBus): Promise<ServiceRegistry> {
    const registry = new ServiceRegistry(db, repository, events, changes);
    for (const row of await db.selectFrom('services').selectAll().execute()) registry.services.set(row.id, serviceFromRow(row));
    for (const builtin of BUILTIN_SERVICES) {
      if (registry.findCreated(builtin.name)) continue;
      // Gateways starting together on one new database race to create the built-ins: the
      // database keeps the first (names are unique) and the others read it back.
      await registry.create(builtin, 'RUNNING').catch(async (err: unknown) => {
        const row = await db.selectFrom('services').selectAll().where('name', '=', builtin.name).executeTakeFirst();
        if (!row) throw err;
        registry.services.set(row.id, serviceFromRow(row));
      });
    }
    await changes?.subscribe('services', (id) => void registry.refresh(id).catch(() => undefined));
    return registry;
  }

  /** Takes the database's copy of a service another gateway created, changed or deleted. */
  async refresh(id: string): Promise<void> {
    const row = await this.db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
    const known = this.services.get(id);
    if (!row) {
      if (!known) return;
      this.services.delete(id);
      this.events?.publish({ type: 'service-deleted', service: known });
      return;
    }
    if (known && known.updatedAt === row.updated_at && known.status === row.status) return;
    const record = serviceFromRow(row);
    this.services.set(id, record);
    this.events?.publish({ type: 'service', service: record });
  }

  private changed(id: string): void {
    void this.changes?.publish('services', id).catch(() => undefined);
  }

  /** Created services, then repository models as services. */
  list(): ServiceRecord[] {
    const created = [...this.services.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const names = new Set(created.map((s) => s.name));
    const models = this.repository.list().filter((m) => !names.has(m.name)).map(modelAsService);
    return [...created, ...models];
  }

  find(idOrName: string): ServiceRecord | undefined {
    const created = this.findCreated(idOrName);
    if (created) return created;
    const model = this.repository.find(idOrName.startsWith('onnx:') ? idOrName.slice(5) : idOrName);
    return model ? modelAsService(model) : undefined;
  }

  get(idOrName: string): ServiceRecord {
    const service = this.find(idOrName);
    if (!service) throw new CorralError('SERVICE_NOT_FOUND', `No service '${idOrName}'. List services with GET /api/services.`);
    return service;
  }

  async create(spec: NewService, status: ServiceState): Promise<ServiceRecord> {
    validateModelName(spec.name);
    if (this.find(spec.name)) throw new CorralError('ALREADY_EXISTS', `A service or model named '${spec.name}' already exists; pick another name or delete it first.`);
    const now = new Date().toISOString();
    const row: ServicesTable = {
      id: randomUUID(), name: spec.name, runtime: spec.runtime, task: spec.task, model: spec.model,
      model_path: spec.modelPath, revision: spec.revision, options_json: JSON.stringify(spec.options),
      replicas: spec.replicas, max_batch_size: spec.batching.maxBatchSize ?? null,
      max_queue_delay_us: spec.batching.maxQueueDelayMicroseconds ?? null, profile: spec.profile,
      status, job_id: null, endpoint: null, reason: null, created_at: now, updated_at: now, token_hash: null, host_credential: null,
      idle_minutes: spec.idleMinutes ?? null, wake_on_request: spec.wakeOnRequest === undefined ? null : Number(spec.wakeOnRequest),
      wake_max_queued: spec.wakeMaxQueued ?? null, wake_timeout_s: spec.wakeTimeoutS ?? null,
      last_request_at: null, sleeping_since: null, restarts: 0,
    };
    await this.db.insertInto('services').values(row).execute();
    const record = serviceFromRow(row);
    this.services.set(record.id, record);
    this.events?.publish({ type: 'service', service: record });
    this.changed(record.id);
    return record;
  }

  /**
   * Records a new state. A service that ended (STOPPED, FAILED, TIMEOUT) also
   * loses its launch token: its job can no longer register or be invoked, and
   * the next launch brings a fresh one.
   */
  async setStatus(id: string, status: ServiceState, details: StatusDetails = {}): Promise<ServiceRecord> {
    return this.update(id, statusPatch(status, details));
  }

  /**
   * Moves a service that is not already on its way up (SUBMITTED, STARTING, RUNNING) to
   * `status`, in one conditional UPDATE: of two gateways starting or waking one service
   * at once, the database lets one claim it; the other gets undefined (its copy is
   * refreshed) and leaves the start to the first.
   */
  async claim(id: string, status: ServiceState, details: StatusDetails = {}): Promise<ServiceRecord | undefined> {
    const row = await this.db.updateTable('services').set(statusPatch(status, details))
      .where('id', '=', id).where('status', 'not in', [...UP]).returningAll().executeTakeFirst();
    if (!row) {
      await this.refresh(id);
      return undefined;
    }
    return this.remember(row);
  }

  /**
   * Stores what the gateway keeps of a job's launch token: its SHA-256 (to
   * check register and invoke calls) and the credential it presents to the
   * job's host. Null clears both. The token itself is never stored.
   */
  async setLaunchToken(id: string, token: { tokenHash: string; hostCredential: string } | null): Promise<ServiceRecord> {
    return this.update(id, { token_hash: token?.tokenHash ?? null, host_credential: token?.hostCredential ?? null, updated_at: new Date().toISOString() });
  }

  /** How often the service was restarted after its box was preempted (BoxRestarter). */
  async setRestarts(id: string, restarts: number): Promise<ServiceRecord> {
    return this.update(id, { restarts, updated_at: new Date().toISOString() });
  }

  /**
   * Changes a service's scale-to-zero settings (undefined: unchanged, null: back to the default).
   * Whether it wakes on request defaults to on when it has idle_minutes.
   */
  async setWakeOptions(id: string, options: { idleMinutes?: number | null; wakeOnRequest?: boolean | null; wakeMaxQueued?: number | null; wakeTimeoutS?: number | null }): Promise<ServiceRecord> {
    const patch: Partial<ServicesTable> = { updated_at: new Date().toISOString() };
    if (options.idleMinutes !== undefined) patch.idle_minutes = options.idleMinutes;
    if (options.wakeOnRequest !== undefined) patch.wake_on_request = options.wakeOnRequest === null ? null : Number(options.wakeOnRequest);
    if (options.wakeMaxQueued !== undefined) patch.wake_max_queued = options.wakeMaxQueued;
    if (options.wakeTimeoutS !== undefined) patch.wake_timeout_s = options.wakeTimeoutS;
    return this.update(id, patch);
  }

  /**
   * Stores when a service last had a request. Not a change anyone watches: no
   * event, and updated_at stays (the runner calls it at most every few seconds).
   */
  async recordLastRequest(id: string, at: string): Promise<void> {
    await this.db.updateTable('services').set({ last_request_at: at }).where('id', '=', id).execute();
    const current = this.services.get(id);
    if (current) this.services.set(id, { ...current, lastRequestAt: at });
  }

  private async update(id: string, patch: Partial<ServicesTable>): Promise<ServiceRecord> {
    const row = await this.db.updateTable('services').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw new CorralError('SERVICE_NOT_FOUND', `No service with id '${id}'.`);
    return this.remember(row);
  }

  /** Keeps a written row in memory and tells this gateway's listeners and the others. */
  private remember(row: ServicesTable): ServiceRecord {
    const id = row.id;
    const record = serviceFromRow(row);
    this.services.set(id, record);
    this.events?.publish({ type: 'service', service: record });
    this.changed(id);
    return record;
  }

  /** Deletes a created service; repository models are deleted through the model API. */
  async delete(idOrName: string): Promise<ServiceRecord> {
    const service = this.get(idOrName);
    if (service.fromRepository) {
      throw new CorralError('BAD_REQUEST', `'${service.name}' is a repository model; delete it with DELETE /api/v1/models/${service.name}.`);
    }
    await this.db.deleteFrom('services').where('id', '=', service.id).execute();
    this.services.delete(service.id);
    this.events?.publish({ type: 'service-deleted', service });
    this.changed(service.id);
    return service;
  }

  private findCreated(idOrName: string): ServiceRecord | undefined {
    return this.services.get(idOrName) ?? [...this.services.values()].find((s) => s.name === idOrName);
  }
}

function modelAsService(model: ModelRecord): ServiceRecord {
  return {
    id: `onnx:${model.name}`, name: model.name, runtime: 'onnx', task: 'tensor' satisfies Task, model: model.name,
    modelPath: model.path, revision: String(model.version), options: {}, replicas: 1, batching: model.batching,
    profile: 'local', status: 'RUNNING', jobId: null, endpoint: null, reason: null,
    createdAt: model.createdAt, updatedAt: model.updatedAt, fromRepository: true,
  };
}
