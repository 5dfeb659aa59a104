/**
 * The worker's LRU model cache with the real onnx runtime loading fixture files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onnxRuntime } from '../../src/runtimes/onnx/onnx-runtime.js';
import type { LoadedModel } from '../../src/runtimes/runtime.js';
import type { TensorMap } from '../../src/runtimes/tensor.js';
import { ModelCache } from '../../src/workers/model-cache.js';
import { writeFixtureModels } from '../fixtures/index.js';

let dir: string;
let models: Record<string, string>;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-cache-'));
  models = writeFixtureModels(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const size = (name: string) => statSync(models[name]!).size;

/** A real loader of one fixture that counts its loads and the disposals of what it loaded. */
function loader(name: string) {
  const stats = { loads: 0, disposed: 0 };
  const load = async (): Promise<LoadedModel> => {
    stats.loads++;
    const model = await onnxRuntime.load({ key: name, runtime: 'onnx', path: models[name]! }, { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() });
    const dispose = model.dispose.bind(model);
    return Object.assign(model, { dispose: async () => { stats.disposed++; await dispose(); } });
  };
  return { load, stats };
}

const irisInput = { inputs: { float_input: { datatype: 'FP32' as const, shape: [1, 4], data: Float32Array.of(5.1, 3.5, 1.4, 0.2) } } };

describe('ModelCache', () => {
  test('with a budget smaller than two models, loading a second unloads the first', async () => {
    const cache = new ModelCache(size('iris') + size('encoder') - 1);
    const iris = loader('iris');
    const encoder = loader('encoder');
    const model = await cache.get('iris@1', iris.load);
    const out = (await model.run(irisInput)) as TensorMap;
    assert.deepEqual(Array.from(out.label!.data as BigInt64Array), [0n]);
    await cache.get('encoder@1', encoder.load);
    assert.deepEqual(cache.keys(), ['encoder@1']);
    assert.equal(iris.stats.disposed, 1, 'the evicted model was released');
    assert.equal(encoder.stats.disposed, 0);
    // Asking again loads it anew (and now pushes the encoder out).
    const again = await cache.get('iris@1', iris.load);
    assert.notEqual(again, model);
    assert.equal(iris.stats.loads, 2);
    assert.deepEqual(cache.keys(), ['iris@1']);
    assert.equal(encoder.stats.disposed, 1);
    assert.deepEqual(Array.from(((await again.run(irisInput)) as TensorMap).label!.data as BigInt64Array), [0n]);
    await cache.unload('iris@1');
  });

  test('evicts the least recently used, not the least recently loaded', async () => {
    const cache = new ModelCache(size('iris') + size('encoder') + size('cnn') - 1);
    const iris = loader('iris');
    const encoder = loader('encoder');
    const cnn = loader('cnn');
    await cache.get('iris@1', iris.load);
    await cache.get('encoder@1', encoder.load);
    await cache.get('iris@1', iris.load); // touch: iris is now the most recently used
    assert.equal(iris.stats.loads, 1, 'a hit does not load');
    await cache.get('cnn@1', cnn.load);
    assert.deepEqual(cache.keys().sort(), ['cnn@1', 'iris@1']);
    assert.equal(encoder.stats.disposed, 1);
    assert.equal(iris.stats.disposed, 0);
    for (const key of cache.keys()) await cache.unload(key);
    assert.equal(iris.stats.disposed + cnn.stats.disposed, 2);
  });

  test('concurrent gets of the same key share one load', async () => {
    const cache = new ModelCache(1024 ** 3);
    const encoder = loader('encoder');
    const got = await Promise.all(Array.from({ length: 8 }, () => cache.get('encoder@1', encoder.load)));
    assert.equal(encoder.stats.loads, 1);
    for (const m of got) assert.equal(m, got[0]);
    assert.deepEqual(cache.keys(), ['encoder@1']);
    await cache.unload('encoder@1');
    assert.equal(encoder.stats.disposed, 1);
    assert.deepEqual(cache.keys(), []);
  });

  test('unloading a key while it loads leaves nothing behind that counts against the budget', async () => {
    const cache = new ModelCache(size('iris') + size('encoder'));
    const cnn = loader('cnn');
    const loading = cache.get('cnn@1', cnn.load);
    await cache.unload('cnn@1'); // e.g. the version was replaced while its first request loaded it
    await loading.catch(() => undefined);
    assert.deepEqual(cache.keys(), []);
    assert.equal(cnn.stats.disposed, 1, 'the model loaded for an unloaded key was released');
    const iris = loader('iris');
    const encoder = loader('encoder');
    await cache.get('iris@1', iris.load);
    await cache.get('encoder@1', encoder.load);
    assert.deepEqual(cache.keys().sort(), ['encoder@1', 'iris@1'], 'two models within the budget both stay loaded');
    assert.equal(iris.stats.disposed, 0);
    for (const key of cache.keys()) await cache.unload(key);
  });

  test('a failing load is not cached: the next get loads again', async () => {
    const cache = new ModelCache(1024 ** 3);
    let attempts = 0;
    const broken = async () => {
      attempts++;
      return onnxRuntime.load({ key: 'x', runtime: 'onnx', path: join(dir, 'missing.onnx') }, { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() });
    };
    const concurrent = [cache.get('iris@1', broken), cache.get('iris@1', broken)];
    for (const p of concurrent) await assert.rejects(p);
    assert.equal(attempts, 1, 'concurrent gets shared the failing load');
    assert.deepEqual(cache.keys(), []);
    await assert.rejects(cache.get('iris@1', broken));
    assert.equal(attempts, 2, 'the failure was not remembered');
    const iris = loader('iris');
    const model = await cache.get('iris@1', iris.load);
    assert.equal(iris.stats.loads, 1);
    assert.deepEqual(Array.from(((await model.run(irisInput)) as TensorMap).label!.data as BigInt64Array), [0n]);
    assert.deepEqual(cache.keys(), ['iris@1']);
    await cache.unload('iris@1');
  });

  test('a failing load does not evict models that fit', async () => {
    const cache = new ModelCache(size('iris') + size('encoder'));
    const iris = loader('iris');
    await cache.get('iris@1', iris.load);
    await assert.rejects(cache.get('bad@1', async () => onnxRuntime.load({ key: 'bad@1', runtime: 'onnx', path: join(dir, 'nope.onnx') }, { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() })));
    assert.deepEqual(cache.keys(), ['iris@1']);
    assert.equal(iris.stats.disposed, 0);
    await cache.unload('iris@1');
  });
});
