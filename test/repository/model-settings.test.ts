/**
 * ModelRepository's settings and change events over a real SQLite database and a
 * real PostgreSQL one (once per engine) and a real worker process: the batching fields and time limit each change
 * alone and outlive a re-upload, every change is published to the event hub,
 * and which signatures can be batched.
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { EventHub, type HubEvent } from '../../src/events/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { hasBatchDimension, ModelRepository, type ModelRecord } from '../../src/repository/index.js';
import { WorkerPool } from '../../src/workers/index.js';
import { writeFixtureModels } from '../fixtures/index.js';
import { DIALECTS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';

let home: string;
let fixtures: Record<string, string>;
let pool: WorkerPool;
let database: FreshDatabase;
let repo: ModelRepository;
const events: HubEvent[] = [];

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'corral-repo-settings-'));
  fixtures = writeFixtureModels(join(home, 'fixtures'));
  pool = new WorkerPool({
    size: 1, home, allowRemoteModels: false, threadsPerWorker: 1, memoryBudgetBytes: 1024 ** 3, readyTimeoutMs: 30_000,
    metrics: createMetrics(), logger: pino({ level: 'silent' }),
  });
});

after(async () => {
  await pool?.close();
  rmSync(home, { recursive: true, force: true });
});

const upload = (name: string, fixture = 'iris') => repo.upload(name, createReadStream(fixtures[fixture]!));
const seen = () => events.splice(0).map((e) => `${e.type} ${'model' in e ? `${e.model.name}@${e.model.version}` : ''}`);

for (const dialect of DIALECTS) describe(`ModelRepository settings on ${dialect}`, () => {
  before(async () => {
    mkdirSync(join(home, dialect));
    database = await freshDatabase(dialect, join(home, dialect));
    const hub = new EventHub();
    hub.subscribe((e) => events.push(e));
    repo = await ModelRepository.open(await database.open(), join(home, dialect, 'models'), (runtime, path) => pool.inspect(runtime, path), hub);
  });
  after(async () => { await database?.drop(); });

  test('each batching field and the time limit change alone; a re-upload keeps them', async () => {
    const fresh = await upload('settings.onnx');
    assert.equal('timeoutMs' in fresh, false, 'no limit of its own until one is set');
    const defaults = fresh.batching;
    const sized = await repo.setBatching('settings.onnx', { maxBatchSize: 7 });
    assert.deepEqual(sized.batching, { ...defaults, maxBatchSize: 7 });
    assert.equal('timeoutMs' in sized, false);
    const delayed = await repo.setBatching('settings.onnx', { maxQueueDelayMicroseconds: 1234 });
    assert.deepEqual(delayed.batching, { ...defaults, maxBatchSize: 7, maxQueueDelayMicroseconds: 1234 });
    const limited = await repo.setBatching('settings.onnx', { timeoutMs: 4500 });
    assert.equal(limited.timeoutMs, 4500);
    assert.deepEqual(limited.batching, delayed.batching);
    const replaced = await upload('settings.onnx');
    assert.equal(replaced.version, 2);
    assert.equal(replaced.timeoutMs, 4500);
    assert.deepEqual(replaced.batching, delayed.batching);
    assert.equal(repo.get('settings.onnx').timeoutMs, 4500);
  });

  test('every change is published: upload, description, settings, re-upload and delete', async () => {
    seen();
    await upload('evented.onnx');
    await repo.describe('evented.onnx', 'flowers');
    await repo.setBatching('evented.onnx', { maxBatchSize: 3 });
    await upload('evented.onnx');
    const deleted = await repo.delete('evented.onnx');
    assert.equal(deleted.version, 2);
    assert.deepEqual(seen(), [
      'model evented.onnx@1', 'model evented.onnx@1', 'model evented.onnx@1', 'model evented.onnx@2', 'model-deleted evented.onnx@2',
    ]);
    assert.equal(repo.find('evented.onnx'), undefined);
  });
});

describe('hasBatchDimension', () => {
  const model = (shapes: number[][]) => ({ inputs: shapes.map((shape, i) => ({ name: `x${i}`, datatype: 'FP32', shape })) }) as unknown as ModelRecord;
  test('only when there are inputs and every one has a free first dimension', () => {
    assert.equal(hasBatchDimension(model([[-1, 4]])), true);
    assert.equal(hasBatchDimension(model([[-1, 4], [-1]])), true);
    assert.equal(hasBatchDimension(model([])), false, 'no inputs');
    assert.equal(hasBatchDimension(model([[-1, 4], [3]])), false, 'one fixed input');
    assert.equal(hasBatchDimension(model([[-1, 4], []])), false, 'a scalar input');
    assert.equal(hasBatchDimension(model([[2, 4]])), false);
  });
});
