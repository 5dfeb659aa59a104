/**
 * DynamicBatcher and the tensor batch codec, driven by a real in-process executor:
 * it records every batch it receives and computes row sums (plus a doubled copy
 * and a non-batch constant), so each caller's share of a batch can be checked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamicBatcher, tensorCodec, tensorCodecFor } from '../../src/batching/index.js';
import { batchedOutputs, concatBatch, splitBatch } from '../../src/batching/tensor-batch.js';
import type { BatchingConfig } from '../../src/config/config.js';
import { CorralError } from '../../src/errors/index.js';
import type { OnnxRequest } from '../../src/runtimes/onnx/onnx-runtime.js';
import type { Tensor, TensorMap, TensorSpec } from '../../src/runtimes/tensor.js';

/** The harness model's signature: `sum` and `doubled` have a batch dimension, `constant` is the model's own. */
const SIGNATURE: TensorSpec[] = [
  { name: 'sum', datatype: 'FP32', shape: [-1] },
  { name: 'doubled', datatype: 'FP32', shape: [-1, -1] },
  { name: 'constant', datatype: 'INT64', shape: [2] },
];
const codec = tensorCodecFor(SIGNATURE);

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A request of `rows` rows of width `width`, row r filled with base + r*10 + column. */
function req(base: number, rows = 1, width = 3, outputs?: string[]): OnnxRequest {
  const data = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) data[r * width + c] = base + r * 10 + c;
  return { inputs: { x: { datatype: 'FP32', shape: [rows, width], data } }, ...(outputs ? { outputs } : {}) };
}

/** Expected row sums of req(base, rows, width). */
const sumsOf = (base: number, rows = 1, width = 3) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: width }, (_, c) => base + r * 10 + c).reduce((a, b) => a + b, 0));

interface Harness {
  batcher: DynamicBatcher<OnnxRequest, TensorMap>;
  /** Every batch the executor received, in order. */
  batches: OnnxRequest[];
  /** Row count of each batch received. */
  sizes: () => number[];
  /** While set, executions wait on it (keeps capacity busy). */
  gate: Deferred | undefined;
  maxConcurrent: number;
}

interface HarnessOptions {
  maxBatchSize?: number;
  delayUs?: number;
  capacity?: number;
  maxQueuedRows?: number;
  /** Thrown by the executor when a batch contains a row whose first value is NaN. */
  rejectNaN?: () => Error;
}

function harness(opts: HarnessOptions = {}): Harness {
  const config: BatchingConfig = { maxBatchSize: opts.maxBatchSize ?? 32, maxQueueDelayMicroseconds: opts.delayUs ?? 0 };
  let running = 0;
  const h: Harness = {
    batches: [],
    sizes: () => h.batches.map((b) => b.inputs.x!.shape[0]!),
    gate: undefined,
    maxConcurrent: 0,
    batcher: undefined as unknown as DynamicBatcher<OnnxRequest, TensorMap>,
  };
  const execute = async (input: OnnxRequest): Promise<TensorMap> => {
    h.batches.push(input);
    running++;
    h.maxConcurrent = Math.max(h.maxConcurrent, running);
    try {
      if (h.gate) await h.gate.promise;
      await sleep(1);
      const x = input.inputs.x!;
      const [rows, width] = x.shape as [number, number];
      const data = x.data as Float32Array;
      if (opts.rejectNaN) {
        for (let r = 0; r < rows; r++) if (Number.isNaN(data[r * width]!)) throw opts.rejectNaN();
      }
      const sum = new Float32Array(rows);
      for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) sum[r]! += data[r * width + c]!;
      const all: TensorMap = {
        sum: { datatype: 'FP32', shape: [rows], data: sum },
        doubled: { datatype: 'FP32', shape: [rows, width], data: data.map((v) => v * 2) },
        // Not batch-shaped in the signature: a model-level constant every caller gets whole,
        // though a 2-row batch gives it as many elements as rows.
        constant: { datatype: 'INT64', shape: [2], data: BigInt64Array.of(7n, 9n) },
      };
      if (!input.outputs) return all;
      return Object.fromEntries(input.outputs.map((n) => [n, all[n]!]));
    } finally {
      running--;
    }
  };
  h.batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
    codec,
    execute,
    config: () => config,
    capacity: () => opts.capacity ?? 1,
    maxQueuedRows: opts.maxQueuedRows ?? 100_000,
  });
  return h;
}

/** Holds the batcher's only slot busy with one request; returns a release function and that request's result. */
function occupy(h: Harness, base = 1000): { release: () => void; result: Promise<TensorMap> } {
  const gate = deferred();
  h.gate = gate;
  const result = h.batcher.submit(req(base));
  return {
    result,
    release: () => {
      h.gate = undefined;
      gate.resolve();
    },
  };
}

const values = (t: Tensor | undefined) => Array.from(t!.data as Float32Array);

describe('DynamicBatcher', () => {
  test('requests submitted while capacity is busy are concatenated into one batch', async () => {
    const h = harness();
    const busy = occupy(h);
    assert.deepEqual(h.sizes(), [1], 'the first request runs at once');
    const pending = [1, 2, 3].map((i) => h.batcher.submit(req(i)));
    assert.deepEqual(h.sizes(), [1], 'the others wait for the slot');
    assert.equal(h.batcher.depth, 3);
    busy.release();
    const results = await Promise.all(pending);
    await busy.result;
    assert.deepEqual(h.sizes(), [1, 3]);
    results.forEach((out, k) => assert.deepEqual(values(out.sum), sumsOf(k + 1)));
    assert.equal(h.batcher.depth, 0);
  });

  test('max_batch_size caps the rows of every batch', async () => {
    const h = harness({ maxBatchSize: 4 });
    const busy = occupy(h);
    const pending = Array.from({ length: 10 }, (_, i) => h.batcher.submit(req(i)));
    busy.release();
    const results = await Promise.all(pending);
    assert.deepEqual(h.sizes(), [1, 4, 4, 2]);
    results.forEach((out, i) => assert.deepEqual(values(out.sum), sumsOf(i)));
  });

  test('max_batch_size counts rows, not requests: multi-row requests that do not fit wait', async () => {
    const h = harness({ maxBatchSize: 4 });
    const busy = occupy(h);
    const a = h.batcher.submit(req(10, 3));
    const b = h.batcher.submit(req(20, 3));
    const c = h.batcher.submit(req(30, 1));
    busy.release();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    for (const size of h.sizes()) assert.ok(size <= 4, `batch of ${size} rows exceeds max_batch_size 4`);
    assert.deepEqual(h.sizes(), [1, 4, 3], 'a (3 rows) + c (1 row) fill one batch, b runs next');
    assert.deepEqual(values(ra!.sum), sumsOf(10, 3));
    assert.deepEqual(values(rb!.sum), sumsOf(20, 3));
    assert.deepEqual(values(rc!.sum), sumsOf(30, 1));
  });

  test('requests with different batch keys never share a batch', async () => {
    const h = harness();
    const busy = occupy(h);
    const submitted: Array<[OnnxRequest, Promise<TensorMap>]> = [];
    const add = (r: OnnxRequest) => submitted.push([r, h.batcher.submit(r)]);
    for (let i = 0; i < 3; i++) {
      add(req(i, 1, 3)); // key: x FP32 [*,3], all outputs
      add(req(100 + i, 1, 4)); // different non-batch dimension
      add(req(200 + i, 1, 3, ['sum'])); // same tensor, different requested outputs
      add({ inputs: { x: { datatype: 'FP64', shape: [1, 3], data: Float64Array.of(i, i, i) } } }); // different dtype
    }
    busy.release();
    await busy.result;
    const results = await Promise.all(submitted.map(([, p]) => p));
    const batches = h.batches.slice(1);
    assert.equal(batches.length, 4, `one batch per key, got sizes ${h.sizes().join(',')}`);
    for (const batch of batches) {
      const key = codec.key(batch);
      const members = submitted.filter(([r]) => codec.key(r) === key);
      assert.equal(batch.inputs.x!.shape[0], members.length, `batch ${key} holds only its own key's 3 requests`);
    }
    submitted.forEach(([r], i) => {
      const out = results[i]!;
      const x = r.inputs.x!;
      const rowSum = Array.from(x.data as Float32Array | Float64Array).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(Number((out.sum!.data as Float32Array)[0]) - rowSum) < 1e-4);
      if (r.outputs) assert.deepEqual(Object.keys(out), ['sum']);
    });
  });

  test('split gives each caller exactly its own rows, and non-batch outputs whole', async () => {
    const h = harness();
    const busy = occupy(h);
    const shapes: Array<[number, number]> = [[5, 1], [50, 2], [500, 3], [5000, 1]];
    const pending = shapes.map(([base, rows]) => h.batcher.submit(req(base, rows)));
    busy.release();
    const results = await Promise.all(pending);
    assert.deepEqual(h.sizes(), [1, 7]);
    shapes.forEach(([base, rows], i) => {
      const out = results[i]!;
      assert.deepEqual(out.sum!.shape, [rows]);
      assert.deepEqual(values(out.sum), sumsOf(base, rows));
      assert.deepEqual(out.doubled!.shape, [rows, 3]);
      assert.deepEqual(values(out.doubled), Array.from(req(base, rows).inputs.x!.data as Float32Array, (v) => v * 2));
      assert.deepEqual(out.constant!.shape, [2]);
      assert.deepEqual(Array.from(out.constant!.data as BigInt64Array), [7n, 9n]);
    });
  });

  test('a 2-row batch splits its batched outputs, yet gives each caller the whole [2] constant', async () => {
    const h = harness();
    const busy = occupy(h);
    const pending = [h.batcher.submit(req(5)), h.batcher.submit(req(50))];
    busy.release();
    const [a, b] = await Promise.all(pending);
    assert.deepEqual(h.sizes(), [1, 2], 'the two requests shared a batch of 2 rows');
    for (const [out, base] of [[a!, 5], [b!, 50]] as const) {
      assert.deepEqual(values(out.sum), sumsOf(base));
      assert.deepEqual(out.constant!.shape, [2]);
      assert.deepEqual(Array.from(out.constant!.data as BigInt64Array), [7n, 9n]);
    }
  });

  test('a batch whose batched output cannot be split re-runs its members alone', async () => {
    const sizes: number[] = [];
    // `hits` is declared batched, but has a row per detection, not per request: 3 rows for any batch.
    const batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
      codec: tensorCodecFor([{ name: 'hits', datatype: 'FP32', shape: [-1] }]),
      execute: async (input) => {
        sizes.push(input.inputs.x!.shape[0]!);
        await sleep(1);
        return { hits: { datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2, 3) } };
      },
      config: () => ({ maxBatchSize: 8, maxQueueDelayMicroseconds: 0 }),
      capacity: () => 1,
      maxQueuedRows: 1000,
    });
    const results = await Promise.all([batcher.submit(req(0)), batcher.submit(req(1)), batcher.submit(req(2))]);
    assert.deepEqual(sizes, [1, 2, 1, 1], 'the second batch (2 rows) could not be split, so its members ran alone');
    for (const out of results) assert.deepEqual(values(out.hits), [1, 2, 3]);
  });

  test('without a signature (tensorCodec) tensor requests never share a batch', async () => {
    const sizes: number[] = [];
    const batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
      codec: tensorCodec,
      execute: async (input) => {
        sizes.push(input.inputs.x!.shape[0]!);
        await sleep(1);
        return { c: { datatype: 'FP32', shape: [2], data: Float32Array.of(1, 2) } };
      },
      config: () => ({ maxBatchSize: 8, maxQueueDelayMicroseconds: 0 }),
      capacity: () => 1,
      maxQueuedRows: 1000,
    });
    const results = await Promise.all([batcher.submit(req(0)), batcher.submit(req(1)), batcher.submit(req(2))]);
    assert.deepEqual(sizes, [1, 1, 1]);
    for (const out of results) assert.deepEqual(values(out.c), [1, 2]);
  });

  test('max_queue_delay_microseconds makes a partial batch wait for company while capacity is free', async () => {
    const h = harness({ delayUs: 50_000 });
    const first = h.batcher.submit(req(1));
    assert.deepEqual(h.sizes(), [], 'the first request waits for company');
    await sleep(1);
    const second = h.batcher.submit(req(2));
    const [r1, r2] = await Promise.all([first, second]);
    assert.deepEqual(h.sizes(), [2], 'both requests ran as one batch of 2');
    assert.deepEqual(values(r1.sum), sumsOf(1));
    assert.deepEqual(values(r2.sum), sumsOf(2));
  });

  test('a full batch does not wait for the queue delay', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersAtStart = timers();
    const h = harness({ delayUs: 10_000_000, maxBatchSize: 2 });
    const pending = [h.batcher.submit(req(1)), h.batcher.submit(req(2))];
    assert.deepEqual(h.sizes(), [2], 'dispatched as soon as max_batch_size rows were queued');
    await Promise.all(pending);
    assert.equal(timers(), timersAtStart, 'no wait timer is left behind once the queue is empty');
  });

  test('delay 0 dispatches at once when capacity is free', async () => {
    const h = harness({ delayUs: 0, capacity: 2 });
    const a = h.batcher.submit(req(1));
    assert.deepEqual(h.sizes(), [1], 'ran synchronously inside submit');
    const b = h.batcher.submit(req(2));
    assert.deepEqual(h.sizes(), [1, 1], 'the second slot takes the second request at once');
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual(values(ra.sum), sumsOf(1));
    assert.deepEqual(values(rb.sum), sumsOf(2));
    assert.ok(h.maxConcurrent <= 2);
  });

  test('never runs more batches at once than the capacity allows', async () => {
    const h = harness({ capacity: 2, maxBatchSize: 3 });
    const pending = Array.from({ length: 40 }, (_, i) => h.batcher.submit(req(i)));
    const results = await Promise.all(pending);
    assert.ok(h.maxConcurrent <= 2, `ran ${h.maxConcurrent} batches at once with capacity 2`);
    assert.equal(h.sizes().reduce((a, b) => a + b, 0), 40);
    results.forEach((out, i) => assert.deepEqual(values(out.sum), sumsOf(i)));
  });

  test('QUEUE_FULL (429 with retry-after) once maxQueuedRows rows are queued', async () => {
    const h = harness({ maxQueuedRows: 4 });
    const busy = occupy(h);
    const queued = [h.batcher.submit(req(1, 2)), h.batcher.submit(req(2, 2))];
    assert.equal(h.batcher.depth, 4);
    await assert.rejects(h.batcher.submit(req(3)), (err: unknown) => {
      assert.ok(err instanceof CorralError);
      assert.equal(err.code, 'QUEUE_FULL');
      assert.equal(err.status, 429);
      assert.equal(err.headers['retry-after'], '1');
      return true;
    });
    assert.equal(h.batcher.depth, 4, 'the refused request was not queued');
    busy.release();
    await Promise.all([busy.result, ...queued]);
    // Once the queue drained, requests are accepted again.
    assert.deepEqual(values((await h.batcher.submit(req(9))).sum), sumsOf(9));
  });

  test('QUEUE_FULL says how many rows are queued; a request larger than the limit is still taken when nothing is queued', async () => {
    const h = harness({ maxQueuedRows: 2 });
    const busy = occupy(h);
    // An empty queue takes any request, or one larger than the limit could never run.
    const big = h.batcher.submit(req(1, 5));
    assert.equal(h.batcher.depth, 5);
    await assert.rejects(h.batcher.submit(req(2)), (err: unknown) => err instanceof CorralError
      && err.message === 'The model has 5 rows queued, the limit; retry shortly.');
    busy.release();
    assert.deepEqual(values((await big).sum), sumsOf(1, 5));
    assert.equal(h.batcher.depth, 0);
  });

  test('depth counts the members of a rejected batch again while they wait to re-run alone', async () => {
    const rerun = deferred();
    // When the batch fails, the gate closes, so its members' re-runs wait there to be counted.
    const h: Harness = harness({ rejectNaN: () => { h.gate = rerun; return new CorralError('INFERENCE_REJECTED', 'bad row'); } });
    const busy = occupy(h);
    const bad: OnnxRequest = req(0);
    (bad.inputs.x!.data as Float32Array)[0] = Number.NaN;
    const pending = [h.batcher.submit(req(1, 2)), h.batcher.submit(bad)];
    assert.equal(h.batcher.depth, 3);
    busy.release();
    await busy.result;
    while (h.sizes().length < 3) await sleep(5);
    assert.deepEqual(h.sizes(), [1, 3, 2], 'the 3-row batch failed; its first member re-runs alone');
    assert.equal(h.batcher.depth, 1, 'the other member (1 row) waits, counted again');
    h.gate = undefined;
    rerun.resolve();
    await assert.rejects(pending[1]!, (err: unknown) => err instanceof CorralError && err.code === 'INFERENCE_REJECTED');
    assert.deepEqual(values((await pending[0]!).sum), sumsOf(1, 2));
    assert.equal(h.batcher.depth, 0);
  });

  test('drained() resolves at once when idle, else only after every queued and running request is answered', async () => {
    const h = harness({});
    await h.batcher.drained();
    const busy = occupy(h);
    const queued = h.batcher.submit(req(1));
    let drained = false;
    const done = h.batcher.drained().then(() => { drained = true; });
    await sleep(20);
    assert.equal(drained, false, 'not drained while a request runs and one waits');
    busy.release();
    await done;
    assert.deepEqual(values((await queued).sum), sumsOf(1));
    assert.equal(h.batcher.depth, 0);
  });

  test('an INFERENCE_REJECTED batch re-runs its members one by one so the good ones succeed', async () => {
    const h = harness({ rejectNaN: () => new CorralError('INFERENCE_REJECTED', 'bad row') });
    const busy = occupy(h);
    const bad: OnnxRequest = req(0);
    (bad.inputs.x!.data as Float32Array)[0] = Number.NaN;
    const good1 = h.batcher.submit(req(1));
    const badP = h.batcher.submit(bad);
    const good2 = h.batcher.submit(req(2, 2));
    busy.release();
    await busy.result;
    await assert.rejects(badP, (err: unknown) => err instanceof CorralError && err.code === 'INFERENCE_REJECTED');
    assert.deepEqual(values((await good1).sum), sumsOf(1));
    assert.deepEqual(values((await good2).sum), sumsOf(2, 2));
    assert.deepEqual(h.sizes(), [1, 4, 1, 1, 2], 'the batch of 4 rows failed, then each member ran alone');
  });

  test('other errors fail every member of the batch without re-running it', async () => {
    const h = harness({ rejectNaN: () => new CorralError('INFERENCE_FAILED', 'worker gone') });
    const busy = occupy(h);
    const bad: OnnxRequest = req(0);
    (bad.inputs.x!.data as Float32Array)[0] = Number.NaN;
    const pending = [h.batcher.submit(req(1)), h.batcher.submit(bad)];
    busy.release();
    await busy.result;
    for (const p of pending) await assert.rejects(p, (err: unknown) => err instanceof CorralError && err.code === 'INFERENCE_FAILED');
    assert.deepEqual(h.sizes(), [1, 2]);
  });

  test('a config change applies to the next scheduling decision', async () => {
    let config: BatchingConfig = { maxBatchSize: 32, maxQueueDelayMicroseconds: 0 };
    const sizes: number[] = [];
    let gate: Deferred | undefined = deferred();
    const batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
      codec,
      execute: async (input) => {
        sizes.push(input.inputs.x!.shape[0]!);
        if (gate) await gate.promise;
        return { sum: { datatype: 'FP32', shape: [input.inputs.x!.shape[0]!], data: new Float32Array(input.inputs.x!.shape[0]!) } };
      },
      config: () => config,
      capacity: () => 1,
      maxQueuedRows: 1000,
    });
    const first = batcher.submit(req(0));
    const rest = Array.from({ length: 3 }, (_, i) => batcher.submit(req(i)));
    config = { maxBatchSize: 1, maxQueueDelayMicroseconds: 0 };
    const g = gate;
    gate = undefined;
    g.resolve();
    await Promise.all([first, ...rest]);
    assert.deepEqual(sizes, [1, 1, 1, 1]);
  });
});

describe('tensor batch concat/split', () => {
  test('float32: concatenates along dimension 0 and splits back', () => {
    const a: TensorMap = { x: { datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, 2) } };
    const b: TensorMap = { x: { datatype: 'FP32', shape: [2, 2], data: Float32Array.of(3, 4, 5, 6) } };
    const batch = concatBatch([a, b]);
    assert.deepEqual(batch.x!.shape, [3, 2]);
    assert.equal(batch.x!.datatype, 'FP32');
    assert.ok(batch.x!.data instanceof Float32Array);
    assert.deepEqual(Array.from(batch.x!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    const [sa, sb] = splitBatch(batch, [1, 2], new Set(['x']));
    assert.deepEqual(sa!.x!.shape, [1, 2]);
    assert.deepEqual(Array.from(sa!.x!.data as Float32Array), [1, 2]);
    assert.deepEqual(sb!.x!.shape, [2, 2]);
    assert.deepEqual(Array.from(sb!.x!.data as Float32Array), [3, 4, 5, 6]);
    assert.ok(sb!.x!.data instanceof Float32Array);
  });

  test('int64 (BigInt64Array): keeps exact 64-bit values', () => {
    const big = 2n ** 62n + 3n;
    const a: TensorMap = { ids: { datatype: 'INT64', shape: [2, 3], data: BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n) } };
    const b: TensorMap = { ids: { datatype: 'INT64', shape: [1, 3], data: BigInt64Array.of(-big, 0n, big) } };
    const batch = concatBatch([a, b]);
    assert.ok(batch.ids!.data instanceof BigInt64Array);
    assert.deepEqual(batch.ids!.shape, [3, 3]);
    assert.deepEqual(Array.from(batch.ids!.data as BigInt64Array), [1n, 2n, 3n, 4n, 5n, 6n, -big, 0n, big]);
    const parts = splitBatch(batch, [2, 1], new Set(['ids']));
    assert.deepEqual(parts.map((p) => p.ids!.shape), [[2, 3], [1, 3]]);
    assert.deepEqual(Array.from(parts[0]!.ids!.data as BigInt64Array), [1n, 2n, 3n, 4n, 5n, 6n]);
    assert.deepEqual(Array.from(parts[1]!.ids!.data as BigInt64Array), [-big, 0n, big]);
    assert.ok(parts[1]!.ids!.data instanceof BigInt64Array);
  });

  test('BYTES (string[]): concatenates and splits strings', () => {
    const reqs: TensorMap[] = [
      { text: { datatype: 'BYTES', shape: [1], data: ['héllo'] } },
      { text: { datatype: 'BYTES', shape: [3], data: ['a', '', 'ünïcode ✓'] } },
      { text: { datatype: 'BYTES', shape: [2], data: ['x', 'y'] } },
    ];
    const batch = concatBatch(reqs);
    assert.deepEqual(batch.text!.shape, [6]);
    assert.ok(Array.isArray(batch.text!.data));
    assert.deepEqual(batch.text!.data, ['héllo', 'a', '', 'ünïcode ✓', 'x', 'y']);
    const parts = splitBatch(batch, [1, 3, 2], new Set(['text']));
    parts.forEach((p, i) => assert.deepEqual(p.text, reqs[i]!.text));
  });

  test('multiple inputs are concatenated per name', () => {
    const mk = (v: number): TensorMap => ({
      a: { datatype: 'FP32', shape: [1, 3], data: Float32Array.of(v, v, v) },
      b: { datatype: 'INT32', shape: [1, 3], data: Int32Array.of(-v, -v, -v) },
    });
    const batch = concatBatch([mk(1), mk(2)]);
    assert.deepEqual(batch.a!.shape, [2, 3]);
    assert.deepEqual(Array.from(batch.a!.data as Float32Array), [1, 1, 1, 2, 2, 2]);
    assert.ok(batch.b!.data instanceof Int32Array);
    assert.deepEqual(Array.from(batch.b!.data as Int32Array), [-1, -1, -1, -2, -2, -2]);
  });

  test('split follows the signature: outputs without a batch dimension go whole, even when their size matches', () => {
    const outputs: TensorMap = {
      y: { datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2, 3) },
      // First dimension 3, like the batch: a coincidence, not a batch dimension.
      vector: { datatype: 'FP32', shape: [3], data: Float32Array.of(4, 5, 6) },
      table: { datatype: 'FP32', shape: [2, 2], data: Float32Array.of(9, 8, 7, 6) },
      scalar: { datatype: 'FP32', shape: [], data: Float32Array.of(42) },
    };
    const batched = batchedOutputs([
      { name: 'y', datatype: 'FP32', shape: [-1] },
      { name: 'vector', datatype: 'FP32', shape: [3] },
      { name: 'table', datatype: 'FP32', shape: [2, 2] },
      { name: 'scalar', datatype: 'FP32', shape: [] },
    ]);
    assert.deepEqual([...batched], ['y']);
    const parts = splitBatch(outputs, [2, 1], batched);
    assert.deepEqual(Array.from(parts[0]!.y!.data as Float32Array), [1, 2]);
    assert.deepEqual(Array.from(parts[1]!.y!.data as Float32Array), [3]);
    for (const p of parts) {
      assert.equal(p.vector, outputs.vector);
      assert.equal(p.table, outputs.table);
      assert.equal(p.scalar, outputs.scalar);
    }
  });

  test('an output declared batched without one row per batch row cannot be split: INFERENCE_REJECTED', () => {
    const outputs: TensorMap = { boxes: { datatype: 'FP32', shape: [5, 4], data: new Float32Array(20) } };
    assert.throws(() => splitBatch(outputs, [2, 1], new Set(['boxes'])), (err: unknown) => err instanceof CorralError && err.code === 'INFERENCE_REJECTED');
  });

  test('a single request passes through unchanged', () => {
    const only: TensorMap = { x: { datatype: 'FP32', shape: [2, 1], data: Float32Array.of(1, 2) } };
    assert.equal(concatBatch([only]), only);
    assert.deepEqual(splitBatch(only, [2], new Set(['x'])), [only]);
  });
});
