/**
 * ModelRepository over a real SQLite database and a real PostgreSQL one (the suite runs
 * once per engine), validating uploads in a real worker process (WorkerPool of one)
 * running onnxruntime.
 */
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { CorralError } from '../../src/errors/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { ModelRepository, type ModelInspector } from '../../src/repository/index.js';
import type { Db } from '../../src/store/index.js';
import { WorkerPool } from '../../src/workers/index.js';
import { writeFixtureModels } from '../fixtures/index.js';
import { DIALECTS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';

let home: string;
let fixtures: Record<string, string>;
let pool: WorkerPool;
let database: FreshDatabase;
let db: Db;
let modelsDir: string;
let repo: ModelRepository;
let inspect: ModelInspector;
let inspections = 0;
const retired: string[] = [];

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'corral-repo-'));
  fixtures = writeFixtureModels(join(home, 'fixtures'));
  writeFileSync(join(home, 'fixtures', 'garbage.onnx'), Buffer.from('this is not an onnx model, just some text\n'.repeat(50)));
  writeFileSync(join(home, 'fixtures', 'empty.onnx'), Buffer.alloc(0));
  pool = new WorkerPool({
    size: 1, home, allowRemoteModels: false, threadsPerWorker: 1, memoryBudgetBytes: 1024 ** 3, readyTimeoutMs: 30_000,
    metrics: createMetrics(), logger: pino({ level: 'silent' }),
  });
  inspect = (runtime, path) => {
    inspections++;
    return pool.inspect(runtime, path);
  };
});

after(async () => {
  await pool?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Per engine: a fresh database and models directory, the repository opened on them. */
function openRepositoryOn(dialect: (typeof DIALECTS)[number]): void {
  before(async () => {
    mkdirSync(join(home, dialect));
    database = await freshDatabase(dialect, join(home, dialect));
    db = await database.open();
    modelsDir = join(home, dialect, 'models');
    repo = await ModelRepository.open(db, modelsDir, inspect);
    retired.length = 0;
    repo.onVersionRetired = (key) => { retired.push(key); };
  });
  after(async () => { await database?.drop(); });
}

const stream = (name: string) => createReadStream(fixtures[name] ?? join(home, 'fixtures', name));
const rowOf = (name: string) => db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
const incoming = () => (existsSync(join(modelsDir, '.incoming')) ? readdirSync(join(modelsDir, '.incoming')) : []);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const isCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof CorralError, `expected a CorralError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return true;
};

for (const dialect of DIALECTS) describe(`ModelRepository on ${dialect}`, () => {
  openRepositoryOn(dialect);

  test('upload from a stream stores models/<name>/1/model.onnx and a row', async () => {
    const model = await repo.upload('iris.onnx', stream('iris'));
    const path = join(modelsDir, 'iris.onnx', '1', 'model.onnx');
    assert.equal(model.name, 'iris.onnx');
    assert.equal(model.version, 1);
    assert.equal(model.path, path);
    assert.deepEqual(readFileSync(path), readFileSync(fixtures.iris!));
    assert.equal(model.sha256, sha256(fixtures.iris!));
    assert.equal(model.sizeBytes, readFileSync(fixtures.iris!).length);
    assert.deepEqual(model.inputs, [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(model.outputs.map((o) => o.name), ['label', 'probabilities']);
    const row = await rowOf('iris.onnx');
    assert.ok(row);
    assert.equal(row.version, 1);
    assert.equal(row.file_path, join('iris.onnx', '1', 'model.onnx'));
    assert.equal(row.sha256, model.sha256);
    assert.deepEqual(JSON.parse(row.inputs_json), model.inputs);
    assert.equal(repo.get('iris.onnx'), model);
    assert.deepEqual(incoming(), [], 'no temp file left');
  });

  test('re-upload makes version 2, removes version 1 and keeps the description and batching', async () => {
    await repo.upload('reup', stream('iris'));
    await repo.describe('reup', 'a flower classifier');
    await repo.setBatching('reup', { maxBatchSize: 8 });
    const v1 = repo.get('reup');
    const model = await repo.upload('reup', stream('multi-input'));
    assert.equal(model.version, 2);
    assert.equal(model.description, 'a flower classifier');
    assert.deepEqual(model.batching, { maxBatchSize: 8 });
    assert.equal(model.createdAt, v1.createdAt);
    assert.deepEqual(model.inputs.map((i) => i.name), ['a', 'b'], 'the new file\'s signature');
    assert.ok(existsSync(join(modelsDir, 'reup', '2', 'model.onnx')));
    assert.deepEqual(readFileSync(model.path), readFileSync(fixtures['multi-input']!));
    assert.equal(existsSync(join(modelsDir, 'reup', '1')), false, 'the old version directory is gone');
    assert.deepEqual(readdirSync(join(modelsDir, 'reup')), ['2']);
    assert.ok(retired.includes('reup@1'), 'workers are told to drop the old version');
    const row = await rowOf('reup');
    assert.equal(row?.version, 2);
    assert.equal(row?.description, 'a flower classifier');
    assert.equal(row?.max_batch_size, 8);
  });

  test('a garbage upload is INVALID_MODEL_FILE and leaves no file or row', async () => {
    await assert.rejects(repo.upload('garbage', stream('garbage.onnx')), isCode('INVALID_MODEL_FILE'));
    assert.equal(repo.find('garbage'), undefined);
    assert.equal(await rowOf('garbage'), undefined);
    assert.equal(existsSync(join(modelsDir, 'garbage')), false);
    assert.deepEqual(incoming(), []);
  });

  test('a garbage re-upload of an existing model leaves the served version untouched', async () => {
    const original = await repo.upload('keep-me', stream('iris'));
    await assert.rejects(repo.upload('keep-me', stream('garbage.onnx')), isCode('INVALID_MODEL_FILE'));
    assert.equal(repo.get('keep-me'), original);
    assert.equal((await rowOf('keep-me'))?.version, 1);
    assert.deepEqual(readdirSync(join(modelsDir, 'keep-me')), ['1']);
    assert.deepEqual(readFileSync(original.path), readFileSync(fixtures.iris!));
    assert.deepEqual(incoming(), []);
  });

  test('an empty stream is EMPTY_UPLOAD, from a file or an in-memory stream', async () => {
    await assert.rejects(repo.upload('empty', stream('empty.onnx')), isCode('EMPTY_UPLOAD'));
    await assert.rejects(repo.upload('empty', Readable.from([])), isCode('EMPTY_UPLOAD'));
    assert.equal(repo.find('empty'), undefined);
    assert.equal(await rowOf('empty'), undefined);
    assert.equal(existsSync(join(modelsDir, 'empty')), false);
    assert.deepEqual(incoming(), []);
  });

  test('invalid names are refused before any I/O', async () => {
    const dir = mkdtempSync(join(home, 'fresh-'));
    const fresh = await ModelRepository.open(db, dir, inspect);
    const inspectionsBefore = inspections;
    const bad = ['', '../escape', '..', '.hidden', 'a/b', 'a\\b', 'x..y', 'nul\0byte', 'sp ace', '-dash-first', 'a'.repeat(129), 'ünï'];
    for (const name of bad) {
      let read = false;
      const source = new Readable({ read() { read = true; this.push(null); } });
      await assert.rejects(fresh.upload(name, source), isCode('INVALID_MODEL_NAME'), `name ${JSON.stringify(name)}`);
      assert.equal(read, false, `the stream of ${JSON.stringify(name)} was not read`);
      source.destroy();
    }
    assert.equal(inspections, inspectionsBefore, 'no worker was asked to inspect anything');
    assert.deepEqual(readdirSync(dir), [], 'nothing was written, not even the .incoming directory');
    assert.equal(existsSync(join(home, 'escape')), false);
    // PostgreSQL cannot even compare with a NUL in text; that name never got near the database.
    assert.equal(await db.selectFrom('models').select('name').where('name', 'in', bad.filter((b) => b !== '' && !b.includes('\0'))).executeTakeFirst(), undefined);
    // 128 characters is the limit, and allowed.
    const longest = 'a'.repeat(128);
    assert.equal((await fresh.upload(longest, stream('iris'))).name, longest);
    await fresh.delete(longest);
  });

  test('a description with a NUL character is BAD_REQUEST on every engine, and the old one stays', async () => {
    await repo.upload('nul-desc', stream('iris'));
    await repo.describe('nul-desc', 'before');
    await assert.rejects(repo.describe('nul-desc', 'a\0b'), (err) => isCode('BAD_REQUEST')(err) && (err as Error).message === 'A model description may not contain NUL characters (\\u0000).');
    assert.equal(repo.get('nul-desc').description, 'before');
    assert.equal((await rowOf('nul-desc'))?.description, 'before');
  });

  test('delete removes the directory and the row', async () => {
    const model = await repo.upload('doomed', stream('iris'));
    assert.ok(existsSync(model.path));
    const deleted = await repo.delete('doomed');
    assert.equal(deleted.name, 'doomed');
    assert.equal(existsSync(join(modelsDir, 'doomed')), false);
    assert.equal(await rowOf('doomed'), undefined);
    assert.equal(repo.find('doomed'), undefined);
    assert.ok(retired.includes('doomed@1'));
    assert.throws(() => repo.get('doomed'), isCode('MODEL_NOT_FOUND'));
    await assert.rejects(repo.delete('doomed'), isCode('MODEL_NOT_FOUND'));
  });

  test('reopening the repository on the same database sees the same models', async () => {
    await repo.upload('persisted', stream('encoder'));
    await repo.describe('persisted', 'survives a restart');
    await repo.setBatching('persisted', { maxBatchSize: 4, maxQueueDelayMicroseconds: 500 });
    const reopened = await ModelRepository.open(db, modelsDir, inspect);
    assert.deepEqual(reopened.list(), repo.list());
    const model = reopened.get('persisted');
    assert.equal(model.description, 'survives a restart');
    assert.deepEqual(model.batching, { maxBatchSize: 4, maxQueueDelayMicroseconds: 500 });
    assert.ok(existsSync(model.path));
    // And through a fresh connection to the database, as after a process restart.
    const again = await ModelRepository.open(await database.open(), modelsDir, inspect);
    assert.deepEqual(again.list(), repo.list());
  });

  test('concurrent uploads of the same name get distinct versions', async () => {
    const names = ['iris', 'encoder', 'multi-input', 'iris', 'cnn'];
    const results = await Promise.all(names.map((n) => repo.upload('racy', stream(n))));
    const versions = results.map((r) => r.version);
    assert.deepEqual([...versions].sort((a, b) => a - b), [1, 2, 3, 4, 5]);
    const last = results.find((r) => r.version === 5)!;
    assert.equal(repo.get('racy').version, 5);
    assert.equal(repo.get('racy').sha256, last.sha256);
    assert.equal((await rowOf('racy'))?.version, 5);
    assert.deepEqual(readdirSync(join(modelsDir, 'racy')), ['5'], 'every replaced version was removed');
    assert.equal(sha256(join(modelsDir, 'racy', '5', 'model.onnx')), last.sha256);
    assert.deepEqual(incoming(), []);
  });

  test('concurrent uploads of different names all land', async () => {
    const names = ['par-a', 'par-b', 'par-c', 'par-d'];
    const results = await Promise.all(names.map((n) => repo.upload(n, stream('iris'))));
    assert.deepEqual(results.map((r) => r.version), [1, 1, 1, 1]);
    for (const n of names) {
      assert.equal((await rowOf(n))?.version, 1);
      assert.ok(existsSync(join(modelsDir, n, '1', 'model.onnx')));
    }
  });
});
