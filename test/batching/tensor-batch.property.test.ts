/**
 * Property tests (fast-check) for tensor batching: whatever the requests (how
 * many, their rows, datatypes, non-batch dimensions, selected outputs) and
 * whatever the model's signature (outputs with and without a batch
 * dimension, constants whose size may equal the batch's rows), every request's
 * result through concat → model → split, or through the DynamicBatcher, equals
 * running it alone. The "model" is a pure function here, so no worker is needed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DynamicBatcher, tensorCodecFor } from '../../src/batching/index.js';
import type { OnnxRequest } from '../../src/runtimes/onnx/onnx-runtime.js';
import { allocate, elementCount, type Datatype, type TensorMap, type TensorSpec } from '../../src/runtimes/tensor.js';

const RUNS = 150;

type InputType = Extract<Datatype, 'FP32' | 'FP64' | 'INT32' | 'INT64' | 'BYTES'>;
const INPUT_TYPES: InputType[] = ['FP32', 'FP64', 'INT32', 'INT64', 'BYTES'];
const OUTPUTS = ['twice', 'rowsum', 'constant', 'table'] as const;

/** A fake model: two outputs with a batch dimension, two of its own (fixed shapes, sizes drawn at random). */
interface FakeModel {
  constantShape: number[];
  tableShape: number[];
}

/** The signature such a model records at upload: only `twice` and `rowsum` start with -1. */
const signatureOf = (m: FakeModel): TensorSpec[] => [
  { name: 'twice', datatype: 'FP64', shape: [-1, -1] },
  { name: 'rowsum', datatype: 'FP64', shape: [-1] },
  { name: 'constant', datatype: 'FP32', shape: m.constantShape },
  { name: 'table', datatype: 'INT64', shape: m.tableShape },
];

const asNumber = (v: unknown): number => (typeof v === 'string' ? v.length : Number(v));

/**
 * Runs the fake model on a request or a batch: `twice` doubles each element of
 * `x` (per row, any datatype), `rowsum` sums each row (plus the row's `tag`
 * length when given), `constant` and `table` are the same whatever the input.
 */
function runModel(m: FakeModel, request: OnnxRequest): TensorMap {
  const x = request.inputs.x!;
  const rows = x.shape[0]!;
  const width = elementCount(x.shape.slice(1));
  const twice = allocate(x.datatype, x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    (twice as unknown as unknown[])[i] = typeof v === 'string' ? v + v : typeof v === 'bigint' ? v * 2n : v * 2;
  }
  const sums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) sums[r]! += asNumber(x.data[r * width + c]);
    const tag = request.inputs.tag;
    if (tag) sums[r]! += 1000 * (tag.data as string[])[r]!.length;
  }
  const constantData = Float32Array.from({ length: elementCount(m.constantShape) }, (_, i) => 0.5 + i);
  const tableData = BigInt64Array.from({ length: elementCount(m.tableShape) }, (_, i) => BigInt(100 + i));
  const all: TensorMap = {
    twice: { datatype: x.datatype, shape: [...x.shape], data: twice },
    rowsum: { datatype: 'FP64', shape: [rows], data: sums },
    constant: { datatype: 'FP32', shape: [...m.constantShape], data: constantData },
    table: { datatype: 'INT64', shape: [...m.tableShape], data: tableData },
  };
  return request.outputs ? Object.fromEntries(request.outputs.map((n) => [n, all[n]!])) : all;
}

/** What makes requests compatible: datatype, non-batch dimensions, whether `tag` is sent, the selected outputs. */
interface Kind {
  datatype: InputType;
  inner: number[];
  tagged: boolean;
  outputs: string[] | undefined;
}

/** A request of a kind: `rows` rows whose values are derived from `seed`, so different requests differ. */
function requestOf(kind: Kind, rows: number, seed: number): OnnxRequest {
  const shape = [rows, ...kind.inner];
  const data = allocate(kind.datatype, elementCount(shape));
  for (let i = 0; i < data.length; i++) {
    const n = ((seed * 7919 + i * 104_729) % 2001) - 1000;
    (data as unknown as unknown[])[i] = kind.datatype === 'BYTES' ? `s${seed}.${i}` : kind.datatype === 'INT64' ? BigInt(n) : kind.datatype === 'FP32' ? n / 4 : n;
  }
  const inputs: TensorMap = { x: { datatype: kind.datatype, shape, data } };
  if (kind.tagged) inputs.tag = { datatype: 'BYTES', shape: [rows], data: Array.from({ length: rows }, (_, r) => 't'.repeat((seed + r) % 5)) };
  return { inputs, ...(kind.outputs ? { outputs: kind.outputs } : {}) };
}

const dims = fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 2 });
const modelArb: fc.Arbitrary<FakeModel> = fc.record({
  // Often [n] with n small: as many elements as a small batch has rows, the case that must not be split.
  constantShape: fc.oneof(fc.integer({ min: 1, max: 8 }).map((n) => [n]), dims),
  tableShape: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 })).map(([a, b]) => [a, b]),
});
const kindArb: fc.Arbitrary<Kind> = fc.record({
  datatype: fc.constantFrom(...INPUT_TYPES),
  inner: fc.constantFrom<number[]>([], [2], [1, 3], [3]),
  tagged: fc.boolean(),
  outputs: fc.option(fc.subarray([...OUTPUTS], { minLength: 1 }), { nil: undefined }),
});
const rowsArb = fc.integer({ min: 1, max: 4 });
/**
 * A few kinds for one run: a base kind and variants that differ from it in a
 * single field, so incompatible requests look alike and would share a batch
 * if the batch key missed that field.
 */
const KIND_FIELDS = ['datatype', 'inner', 'tagged', 'outputs'] as const;
const kindsArb: fc.Arbitrary<Kind[]> = fc
  .tuple(kindArb, fc.array(fc.tuple(fc.constantFrom(...KIND_FIELDS), kindArb), { maxLength: 3 }))
  .map(([base, variants]) => [base, ...variants.map(([field, other]) => ({ ...base, [field]: other[field] }))]);

/** The request of each (kind index, rows) pair, with distinct seeds. */
const buildRequests = (kinds: Kind[], specs: Array<[number, number]>): OnnxRequest[] =>
  specs.map(([k, rows], i) => requestOf(kinds[k % kinds.length]!, rows, i + 1));

describe('tensor batching properties', () => {
  test('concat → model → split gives every request what it gets alone', () => {
    fc.assert(
      fc.property(modelArb, kindArb, fc.array(rowsArb, { minLength: 1, maxLength: 8 }), (model, kind, rows) => {
        const codec = tensorCodecFor(signatureOf(model));
        const requests = rows.map((n, i) => requestOf(kind, n, i + 1));
        assert.ok(requests.every((r) => codec.key(r) === codec.key(requests[0]!)), 'requests of one kind share a key');
        assert.deepEqual(requests.map((r) => codec.rows(r)), rows);
        const batch = codec.concat(requests);
        assert.equal(codec.rows(batch), rows.reduce((a, b) => a + b, 0));
        const parts = codec.split(runModel(model, batch), rows);
        assert.equal(parts.length, requests.length);
        requests.forEach((r, i) => assert.deepStrictEqual(parts[i], runModel(model, r), `request ${i} of ${requests.length}`));
      }),
      { numRuns: RUNS },
    );
  });

  test('requests of different kinds never share a key; requests of one kind always do', () => {
    fc.assert(
      fc.property(kindArb, kindArb, rowsArb, rowsArb, (a, b, ra, rb) => {
        const codec = tensorCodecFor(signatureOf({ constantShape: [2], tableShape: [1, 1] }));
        const sameKind = a.datatype === b.datatype && a.inner.join() === b.inner.join() && a.tagged === b.tagged
          && (a.outputs ?? ['*']).slice().sort().join() === (b.outputs ?? ['*']).slice().sort().join();
        assert.equal(codec.key(requestOf(a, ra, 1)) === codec.key(requestOf(b, rb, 2)), sameKind);
      }),
      { numRuns: RUNS },
    );
  });

  test('through the DynamicBatcher, each of many mixed requests gets its answer alone, each run once', async () => {
    await fc.assert(
      fc.asyncProperty(
        modelArb,
        kindsArb,
        fc.array(fc.tuple(fc.nat(), rowsArb), { minLength: 1, maxLength: 16 }),
        fc.record({ maxBatchSize: fc.integer({ min: 1, max: 10 }), capacity: fc.integer({ min: 1, max: 3 }), delayUs: fc.constantFrom(0, 0, 500) }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        async (model, kinds, specs, settings, yields) => {
          const codec = tensorCodecFor(signatureOf(model));
          const batches: OnnxRequest[] = [];
          let running = 0;
          let maxRunning = 0;
          const batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
            codec,
            execute: async (input) => {
              batches.push(input);
              maxRunning = Math.max(maxRunning, ++running);
              try {
                await new Promise((r) => setImmediate(r));
                return runModel(model, input);
              } finally {
                running--;
              }
            },
            config: () => ({ maxBatchSize: settings.maxBatchSize, maxQueueDelayMicroseconds: settings.delayUs }),
            capacity: () => settings.capacity,
            maxQueuedRows: 100_000,
          });
          const requests = buildRequests(kinds, specs);
          const pending: Promise<TensorMap>[] = [];
          for (const [i, r] of requests.entries()) {
            pending.push(batcher.submit(r));
            // Some requests arrive a tick later, while earlier batches are in flight.
            if (yields[i]) await new Promise((res) => setImmediate(res));
          }
          const results = await Promise.all(pending);
          requests.forEach((r, i) => assert.deepStrictEqual(results[i], runModel(model, r), `request ${i} of ${requests.length}`));
          const rowsRun = batches.reduce((n, b) => n + codec.rows(b), 0);
          assert.equal(rowsRun, requests.reduce((n, r) => n + codec.rows(r), 0), 'every request ran exactly once');
          assert.ok(maxRunning <= settings.capacity, 'never more batches in flight than the capacity');
          for (const b of batches) {
            const size = codec.rows(b);
            const alone = requests.some((r) => r.inputs.x === b.inputs.x);
            assert.ok(alone || size <= settings.maxBatchSize, `a batch of ${size} rows exceeds max_batch_size ${settings.maxBatchSize}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('property tests can fail', () => {
  test('splitting a constant whose size equals the batch rows (the old guess) is caught', () => {
    // The same check as above, with a codec that treats every output as batched: fast-check must find a counterexample.
    const guessing = (model: FakeModel) => tensorCodecFor(signatureOf(model).map((s) => ({ ...s, shape: [-1, ...s.shape] })));
    assert.throws(() =>
      fc.assert(
        fc.property(modelArb, kindArb, fc.array(rowsArb, { minLength: 2, maxLength: 8 }), (model, kind, rows) => {
          const codec = guessing(model);
          const requests = rows.map((n, i) => requestOf(kind, n, i + 1));
          let parts: TensorMap[];
          try {
            parts = codec.split(runModel(model, codec.concat(requests)), rows);
          } catch {
            return; // unsplittable: the batcher would re-run the members alone
          }
          requests.forEach((r, i) => assert.deepStrictEqual(parts[i], runModel(model, r)));
        }),
        { numRuns: RUNS, seed: 42 },
      ),
    );
  });
});
