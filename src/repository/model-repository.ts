import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { planPadding } from '../batching/padding-plan.js';
import type { PaddingSetting } from '../batching/padding-setting.js';
import type { BatchingConfig } from '../config/config.js';
import { CorralError, errors } from '../errors/index.js';
import type { ModelSignature } from '../runtimes/runtime.js';
import type { EventHub } from '../events/index.js';
import type { ChangeBus } from '../changes/change-bus.js';
import type { Db } from '../store/index.js';
import { lockName } from '../store/name-lock.js';
import { validateModelName } from './model-name.js';
import { modelRef, recordFromRow, type ModelRecord } from './model-record.js';
import { receiveUpload } from './receive-upload.js';

/** Validates a model file by loading it (in a worker process, never in the gateway). */
export type ModelInspector = (runtime: string, path: string) => Promise<ModelSignature>;

/**
 * The ONNX model repository: files under CORRAL_HOME/models/<name>/<version>/model.onnx
 * (Triton's layout), metadata in the database. Reads come from an in-memory
 * copy kept in step with every write, so the request path never waits on SQL.
 */
export class ModelRepository {
  private readonly models = new Map<string, ModelRecord>();
  private readonly uploads = new Map<string, Promise<unknown>>();
  /** Called after a model version stops existing (delete, replace) so workers drop it. */
  /** Called when a version stops being current; the files go once the returned promise settles (its queued requests answered). */
  onVersionRetired: (key: string) => void | Promise<void> = () => undefined;

  private constructor(
    private readonly db: Db,
    readonly dir: string,
    private readonly inspect: ModelInspector,
    private readonly events?: EventHub,
    private readonly changes?: ChangeBus,
  ) {}

  /**
   * `events` hears of every upload, change and delete (GET /api/events); `changes`
   * tells the other gateways of a deployment, and brings their changes here.
   */
  static async open(db: Db, dir: string, inspect: ModelInspector, events?: EventHub, changes?: ChangeBus): Promise<ModelRepository> {
    await mkdir(dir, { recursive: true });
    const repo = new ModelRepository(db, dir, inspect, events, changes);
    for (const row of await db.selectFrom('models').selectAll().orderBy('name').execute()) {
      repo.models.set(row.name, recordFromRow(row, dir));
    }
    await changes?.subscribe('models', (name) => void repo.refresh(name).catch(() => undefined));
    return repo;
  }

  /**
   * Takes the database's copy of `name` into memory after another gateway changed it
   * (this gateway's own changes are already there and change nothing). A replaced or
   * deleted version is retired here too, so this gateway's workers drop it; its files
   * are removed by the gateway that replaced it.
   */
  async refresh(name: string): Promise<void> {
    const row = await this.db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
    const known = this.models.get(name);
    if (!row) {
      if (!known) return;
      this.models.delete(name);
      this.events?.publish({ type: 'model-deleted', model: known });
      await this.onVersionRetired(modelRef(known).key);
      return;
    }
    if (known && known.version === row.version && known.updatedAt === row.updated_at) return;
    const record = recordFromRow(row, this.dir);
    this.models.set(name, record);
    this.events?.publish({ type: 'model', model: record });
    if (known && known.version !== record.version) await this.onVersionRetired(modelRef(known).key);
  }

  private changed(name: string): void {
    void this.changes?.publish('models', name).catch(() => undefined);
  }

  list(): ModelRecord[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): ModelRecord | undefined {
    return this.models.get(name);
  }

  get(name: string): ModelRecord {
    const model = this.models.get(name);
    if (!model) throw errors.modelNotFound(name);
    return model;
  }

  /**
   * Stores an uploaded model: stream to a temp file, load it in onnxruntime to
   * validate it and read its signature, then move it into place and commit the
   * row. Any failure leaves the repository as it was.
   */
  async upload(name: string, source: Readable): Promise<ModelRecord> {
    validateModelName(name);
    // Uploads of one name take turns, so two never claim the same version.
    const turn = (this.uploads.get(name) ?? Promise.resolve()).then(() => this.store(name, source));
    const settled = turn.catch(() => undefined);
    this.uploads.set(name, settled);
    void settled.then(() => this.uploads.get(name) === settled && this.uploads.delete(name));
    return turn;
  }

  private async store(name: string, source: Readable): Promise<ModelRecord> {
    const received = await receiveUpload(source, this.dir);
    let finalPath: string | undefined;
    let record: ModelRecord;
    let previous: ModelRecord | undefined;
    try {
      const signature = await this.inspect('onnx', received.path);
      if (signature.inputs.length === 0) throw new CorralError('INVALID_MODEL_FILE', 'The model declares no tensor inputs.');
      // The next version is the database's, taken under a lock on the name: two gateways
      // uploading one model at once make two versions, one after the other, never one twice.
      record = await this.db.transaction().execute(async (trx) => {
        await lockName(trx, `model:${name}`);
        const current = await trx.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
        previous = current ? recordFromRow(current, this.dir) : undefined;
        const version = (previous?.version ?? 0) + 1;
        const relative = join(name, String(version), 'model.onnx');
        finalPath = join(this.dir, relative);
        await mkdir(dirname(finalPath), { recursive: true });
        await rename(received.path, finalPath);
        return this.commitVersion(trx, name, version, relative, received, signature, previous);
      });
      this.models.set(name, record);
      this.events?.publish({ type: 'model', model: record });
      this.changed(name);
    } catch (err) {
      await rm(received.path, { force: true });
      if (finalPath) await rm(dirname(finalPath), { recursive: true, force: true });
      throw err;
    }
    if (previous) await this.retire(previous);
    return record;
  }

  private async commitVersion(
    trx: Db, name: string, version: number, relative: string,
    received: { sizeBytes: number; sha256: string }, signature: ModelSignature, previous: ModelRecord | undefined,
  ): Promise<ModelRecord> {
    const now = new Date().toISOString();
    const row = {
      name, version, file_path: relative, format: 'onnx',
      description: previous?.description ?? '',
      size_bytes: received.sizeBytes, sha256: received.sha256,
      inputs_json: JSON.stringify(signature.inputs), outputs_json: JSON.stringify(signature.outputs),
      max_batch_size: previous?.batching.maxBatchSize ?? null,
      max_queue_delay_us: previous?.batching.maxQueueDelayMicroseconds ?? null,
      timeout_ms: previous?.timeoutMs ?? null,
      dim_names_json: signature.dimNames ? JSON.stringify(signature.dimNames) : null,
      padding_json: previous?.padding !== undefined ? JSON.stringify(previous.padding) : null,
      created_at: previous?.createdAt ?? now, updated_at: now,
    };
    await trx.insertInto('models').values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet(row)).execute();
    return recordFromRow(row, this.dir);
  }

  async describe(name: string, description: string): Promise<ModelRecord> {
    // PostgreSQL text cannot hold NUL; refused on every engine so both behave alike.
    if (description.includes('\0')) throw new CorralError('BAD_REQUEST', 'A model description may not contain NUL characters (\\u0000).');
    return this.update(name, { description });
  }

  /**
   * Stores the given batching fields and, when given, the model's request time limit (`timeoutMs`)
   * and `padding` (null = back to corral.json, then automatic; a setting its signature cannot serve is BAD_REQUEST).
   */
  async setBatching(name: string, batching: Partial<BatchingConfig> & { timeoutMs?: number; padding?: PaddingSetting | null }): Promise<ModelRecord> {
    const patch: { max_batch_size?: number; max_queue_delay_us?: number; timeout_ms?: number; padding_json?: string | null } = {};
    if (batching.padding) planPadding(this.get(name), batching.padding);
    if (batching.padding !== undefined) patch.padding_json = batching.padding === null ? null : JSON.stringify(batching.padding);
    if (batching.maxBatchSize !== undefined) patch.max_batch_size = batching.maxBatchSize;
    if (batching.maxQueueDelayMicroseconds !== undefined) patch.max_queue_delay_us = batching.maxQueueDelayMicroseconds;
    if (batching.timeoutMs !== undefined) patch.timeout_ms = batching.timeoutMs;
    return this.update(name, patch);
  }

  async delete(name: string): Promise<ModelRecord> {
    const model = this.get(name);
    await this.db.deleteFrom('models').where('name', '=', name).execute();
    this.models.delete(name);
    this.events?.publish({ type: 'model-deleted', model });
    this.changed(name);
    await this.retire(model);
    await rm(join(this.dir, name), { recursive: true, force: true });
    return model;
  }

  private async update(name: string, patch: Record<string, unknown>): Promise<ModelRecord> {
    this.get(name);
    const row = await this.db.updateTable('models').set({ ...patch, updated_at: new Date().toISOString() })
      .where('name', '=', name).returningAll().executeTakeFirstOrThrow();
    const record = recordFromRow(row, this.dir);
    this.models.set(name, record);
    this.events?.publish({ type: 'model', model: record });
    this.changed(name);
    return record;
  }

  private async retire(model: ModelRecord): Promise<void> {
    await this.onVersionRetired(modelRef(model).key);
    if (this.models.get(model.name)?.version !== model.version) {
      await rm(dirname(model.path), { recursive: true, force: true });
    }
  }
}
