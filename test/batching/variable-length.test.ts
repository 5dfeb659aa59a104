/**
 * Variable-length batching, pure parts: resizing a tensor along an axis,
 * a request's sequence length and its checks, the padding plan read from a
 * signature and setting, the padding bound, and the padded codec driven
 * through a real DynamicBatcher with an in-process "model" that echoes its
 * inputs per position, so every padded or trimmed element can be checked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  DynamicBatcher, effectivePadding, modelCodecFor, paddedCodecFor, planPadding, resizeAxis, sequenceLength,
  tensorCodecFor, withinPaddingBound, type PaddableSignature, type PaddingPlan,
} from '../../src/batching/index.js';
import { readModelOverrides } from '../../src/config/index.js';
import { CorralError } from '../../src/errors/index.js';
import type { OnnxRequest } from '../../src/runtimes/onnx/onnx-runtime.js';
import type { Tensor, TensorMap, TensorSpec } from '../../src/runtimes/tensor.js';

const int64 = (shape: number[], values: number[]): Tensor => ({ datatype: 'INT64', shape, data: BigInt64Array.from(values.map(BigInt)) });
const numbers = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint>, Number);

function assertCorral(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CorralError);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

/** A BERT-style signature as recorded at upload: ids, mask (and token types) [batch, sequence]. */
function bert(opts: { tokenTypes?: boolean; maskDims?: string[]; extra?: TensorSpec } = {}): PaddableSignature {
  const seq = (name: string): TensorSpec => ({ name, datatype: 'INT64', shape: [-1, -1] });
  const inputs = [seq('input_ids'), seq('attention_mask'), ...(opts.tokenTypes ? [seq('token_type_ids')] : []), ...(opts.extra ? [opts.extra] : [])];
  return {
    inputs,
    outputs: [
      { name: 'last_hidden_state', datatype: 'FP32', shape: [-1, -1, 2] },
      { name: 'pooled', datatype: 'FP32', shape: [-1, 2] },
      { name: 'table', datatype: 'FP32', shape: [3, 2] },
    ],
    dimNames: {
      input_ids: ['batch', 'sequence'], attention_mask: opts.maskDims ?? ['batch', 'sequence'], token_type_ids: ['batch', 'sequence'],
      ...(opts.extra ? { [opts.extra.name]: ['batch', ''] } : {}),
      last_hidden_state: ['batch', 'sequence', ''], pooled: ['batch', ''], table: ['', ''],
    },
  };
}

describe('resizeAxis', () => {
  test('pads on the right with the fill value, per row, along axis 1', () => {
    const t = resizeAxis(int64([2, 2], [1, 2, 3, 4]), 1, 4, 7);
    assert.deepEqual(t.shape, [2, 4]);
    assert.deepEqual(numbers(t), [1, 2, 7, 7, 3, 4, 7, 7]);
  });
  test('trims a middle axis, keeping the leading positions and every inner dim', () => {
    const data = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    const t = resizeAxis({ datatype: 'FP32', shape: [2, 3, 2], data }, 1, 1, 0);
    assert.deepEqual(t.shape, [2, 1, 2]);
    assert.deepEqual(Array.from(t.data as Float32Array), [0, 1, 6, 7]);
  });
  test('pads floats with 0 and returns the same tensor when the size is unchanged', () => {
    const t: Tensor = { datatype: 'FP32', shape: [1, 2], data: Float32Array.of(0.5, 1.5) };
    assert.deepEqual(Array.from(resizeAxis(t, 1, 3, 0).data as Float32Array), [0.5, 1.5, 0]);
    assert.equal(resizeAxis(t, 1, 2, 0), t);
  });
});

describe('sequenceLength', () => {
  const plan = planPadding(bert({ tokenTypes: true }), undefined)!;
  test('is axis 1 of the padded inputs', () => {
    assert.equal(sequenceLength(plan, { input_ids: int64([2, 5], Array(10).fill(3)), attention_mask: int64([2, 5], Array(10).fill(1)), token_type_ids: int64([2, 5], Array(10).fill(0)) }), 5);
  });
  test('inputs that disagree in length are INVALID_INPUT naming both', () => {
    assertCorral(() => sequenceLength(plan, { input_ids: int64([1, 4], [1, 2, 3, 4]), attention_mask: int64([1, 3], [1, 1, 1]), token_type_ids: int64([1, 4], [0, 0, 0, 0]) }),
      'INVALID_INPUT', "Inputs 'input_ids' and 'attention_mask' must have the same sequence length (axis 1); got 4 and 3.");
  });
  test('a mask holding anything but 0 and 1 is INVALID_INPUT naming the element', () => {
    assertCorral(() => sequenceLength(plan, { input_ids: int64([1, 3], [1, 2, 3]), attention_mask: int64([1, 3], [1, 2, 0]), token_type_ids: int64([1, 3], [0, 0, 0]) }),
      'INVALID_INPUT', "Input 'attention_mask' is an attention mask and may hold only 0 and 1; element 1 is 2.");
    const floatMask = planPadding({ ...bert(), inputs: [{ name: 'input_ids', datatype: 'INT64', shape: [-1, -1] }, { name: 'attention_mask', datatype: 'FP32', shape: [-1, -1] }] }, undefined)!;
    assertCorral(() => sequenceLength(floatMask, { input_ids: int64([1, 2], [1, 2]), attention_mask: { datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, 0.5) } }),
      'INVALID_INPUT', "Input 'attention_mask' is an attention mask and may hold only 0 and 1; element 1 is 0.5.");
  });
});

const planOf = (plan: PaddingPlan | undefined) => plan && ({ inputs: [...plan.inputs], mask: plan.mask, outputAxes: [...plan.outputAxes] });

describe('planPadding', () => {
  test('automatic: an attention_mask with a named sequence dim pads every input sharing that dim; outputs trim where the name recurs', () => {
    assert.deepEqual(planOf(planPadding(bert({ tokenTypes: true, extra: { name: 'features', datatype: 'FP32', shape: [-1, 4] } }), undefined)), {
      inputs: [['input_ids', 0], ['attention_mask', 0], ['token_type_ids', 0]], mask: 'attention_mask', outputAxes: [['last_hidden_state', [1]]],
    });
  });
  test('automatic needs the mask, a named sequence dim, and a recorded signature', () => {
    const noMask = bert();
    noMask.inputs = noMask.inputs.filter((s) => s.name !== 'attention_mask');
    assert.equal(planPadding(noMask, undefined), undefined);
    assert.equal(planPadding(bert({ maskDims: ['batch', ''] }), undefined), undefined, 'unnamed sequence dim');
    assert.equal(planPadding({ ...bert(), dimNames: {} }, undefined), undefined, 'uploaded before dim names were recorded');
    const fixed = bert();
    fixed.inputs = fixed.inputs.map((s) => ({ ...s, shape: [-1, 16] }));
    assert.equal(planPadding(fixed, undefined), undefined, 'a fixed length needs no padding');
  });
  test('false turns padding off, and the model batches by exact shape', () => {
    assert.equal(planPadding(bert(), false), undefined);
    assert.equal(effectivePadding(bert(), false), false);
  });
  test('an explicit setting: pad_id pads the first listed input other than the mask; the mask joins the list', () => {
    const sig = bert({ tokenTypes: true });
    assert.deepEqual(planOf(planPadding(sig, { inputs: ['token_type_ids', 'input_ids'], mask: 'attention_mask', pad_id: 9 })), {
      inputs: [['token_type_ids', 9], ['input_ids', 0], ['attention_mask', 0]], mask: 'attention_mask', outputAxes: [['last_hidden_state', [1]]],
    });
    assert.deepEqual(effectivePadding(sig, { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 1 }),
      { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 1 });
    assert.deepEqual(effectivePadding(sig, undefined), { inputs: ['input_ids', 'attention_mask', 'token_type_ids'], mask: 'attention_mask', pad_id: 0 });
  });
  test('an explicit setting the signature cannot serve is BAD_REQUEST; requests then batch by exact shape', () => {
    const sig = bert({ extra: { name: 'features', datatype: 'FP32', shape: [-1, 4] } });
    assertCorral(() => planPadding(sig, { inputs: ['ids'], mask: 'attention_mask' }), 'BAD_REQUEST',
      "Padding names input 'ids', which the model does not have; its inputs are: input_ids, attention_mask, features.");
    assertCorral(() => planPadding(sig, { inputs: ['input_ids', 'features'], mask: 'attention_mask' }), 'BAD_REQUEST',
      "Padding needs every listed input to be a number tensor [batch, seq, ...] whose seq dim has the mask's symbolic name; 'features' (FP32 [batch,]) is not, with mask 'attention_mask'.");
    assertCorral(() => planPadding({ ...sig, dimNames: {} }, { inputs: ['input_ids'], mask: 'attention_mask' }), 'BAD_REQUEST',
      'This model version was uploaded before Corral recorded symbolic dim names, which padding needs to find the sequence dim of its outputs; upload it again.');
    assert.equal(effectivePadding(sig, { inputs: ['ids'], mask: 'attention_mask' }), false);
    const request: OnnxRequest = { inputs: { input_ids: int64([1, 2], [1, 2]), attention_mask: int64([1, 2], [1, 1]), features: { datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) } } };
    const other: OnnxRequest = { inputs: { ...request.inputs, input_ids: int64([1, 3], [1, 2, 3]), attention_mask: int64([1, 3], [1, 1, 1]) } };
    const codec = modelCodecFor(sig, { inputs: ['ids'], mask: 'attention_mask' });
    assert.notEqual(codec.key(request), codec.key(other), 'exact shapes only');
    assert.equal(codec.fits, undefined);
  });
});

describe('padding in corral.json', () => {
  test('an object or false is read; anything else names the model and the expected form', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-varlen-config-'));
    try {
      const path = join(dir, 'corral.json');
      const explicit = { inputs: ['input_ids', 'attention_mask'], mask: 'attention_mask', pad_id: 1 };
      writeFileSync(path, JSON.stringify({ models: { bert: { padding: explicit, max_batch_size: 8 }, off: { padding: false }, plain: {} } }));
      assert.deepEqual(await readModelOverrides(path), { bert: { padding: explicit, maxBatchSize: 8 }, off: { padding: false }, plain: {} });
      for (const bad of [true, { inputs: 'input_ids', mask: 'attention_mask' }, { inputs: ['input_ids'], mask: 'attention_mask', pad: 0 }]) {
        writeFileSync(path, JSON.stringify({ models: { bert: { padding: bad } } }));
        await assert.rejects(readModelOverrides(path), {
          message: `${path}: models["bert"].padding must be false or {"inputs": [names], "mask": name, "pad_id"?: n}, got ${JSON.stringify(bad)}`,
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('withinPaddingBound', () => {
  test('the longest is at most 1.25× the shortest, or at most 16 tokens', () => {
    assert.equal(withinPaddingBound(40, 50), true);
    assert.equal(withinPaddingBound(40, 51), false);
    assert.equal(withinPaddingBound(1, 16), true);
    assert.equal(withinPaddingBound(1, 17), false);
    assert.equal(withinPaddingBound(11, 17), false);
    assert.equal(withinPaddingBound(12, 18), false);
    assert.equal(withinPaddingBound(16, 20), true);
    assert.equal(withinPaddingBound(100, 100), true);
  });
});

/**
 * The harness model: `h` [b, seq, 2] holds each position's id and mask, `pooled` [b] the
 * sum of ids over unmasked positions, `table` is the model's own; like a real masked model,
 * padding changes neither a row's own positions of `h` nor its `pooled`.
 */
function echoModel(request: OnnxRequest): TensorMap {
  const ids = request.inputs.input_ids!;
  const mask = request.inputs.attention_mask!.data as BigInt64Array;
  const [rows, seq] = ids.shape as [number, number];
  const h = new Float32Array(rows * seq * 2);
  const pooled = new Float32Array(rows);
  for (let i = 0; i < rows * seq; i++) {
    const id = Number((ids.data as BigInt64Array)[i]);
    h[2 * i] = id;
    h[2 * i + 1] = Number(mask[i]);
    pooled[Math.floor(i / seq)]! += id * Number(mask[i]);
  }
  const all: TensorMap = {
    last_hidden_state: { datatype: 'FP32', shape: [rows, seq, 2], data: h },
    pooled: { datatype: 'FP32', shape: [rows, 2], data: Float32Array.from({ length: rows * 2 }, (_, i) => pooled[Math.floor(i / 2)]!) },
    table: { datatype: 'FP32', shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
  };
  return request.outputs ? Object.fromEntries(request.outputs.map((n) => [n, all[n]!])) : all;
}

/** A one-row request of `length` tokens with ids base, base+1, ... */
function tokens(length: number, base = length * 100, rows = 1): OnnxRequest {
  const ids = Array.from({ length: rows * length }, (_, i) => base + i);
  return { inputs: { input_ids: int64([rows, length], ids), attention_mask: int64([rows, length], Array(rows * length).fill(1)) } };
}

describe('paddedCodecFor through a DynamicBatcher', () => {
  const sig = bert();
  const plan = planPadding(sig, undefined)!;

  test('concat pads ids with pad_id and the mask with 0; split trims each request back to its own length', () => {
    const codec = paddedCodecFor(planPadding(sig, { inputs: ['input_ids'], mask: 'attention_mask', pad_id: 5 })!, sig.outputs);
    const reqs = [tokens(2, 10), tokens(3, 20, 2)];
    const batch = codec.concat(reqs);
    assert.deepEqual(batch.inputs.input_ids!.shape, [3, 3]);
    assert.deepEqual(numbers(batch.inputs.input_ids!), [10, 11, 5, 20, 21, 22, 23, 24, 25]);
    assert.deepEqual(numbers(batch.inputs.attention_mask!), [1, 1, 0, 1, 1, 1, 1, 1, 1]);
    const parts = codec.split(echoModel(batch), [1, 2], reqs);
    parts.forEach((part, i) => assert.deepEqual(part, echoModel(reqs[i]!), `request ${i} as if alone`));
  });

  test('the key ignores the length but not the other dims, the datatypes or the outputs', () => {
    const codec = paddedCodecFor(plan, sig.outputs);
    assert.equal(codec.key(tokens(3)), codec.key(tokens(30)));
    assert.notEqual(codec.key(tokens(3)), codec.key({ ...tokens(3), outputs: ['pooled'] }));
    const int32 = tokens(3);
    int32.inputs.input_ids = { datatype: 'INT32', shape: [1, 3], data: Int32Array.of(1, 2, 3) };
    assert.notEqual(codec.key(tokens(3)), codec.key(int32));
    assertCorral(() => codec.key({ inputs: { input_ids: int64([1, 2], [1, 2]), attention_mask: int64([1, 2], [1, -1]) } }), 'INVALID_INPUT',
      "Input 'attention_mask' is an attention mask and may hold only 0 and 1; element 1 is -1.");
  });

  test('an output whose sequence axis is not the padded length is INFERENCE_REJECTED (its members run alone)', () => {
    const codec = paddedCodecFor(plan, sig.outputs);
    const reqs = [tokens(2), tokens(4)];
    const out = echoModel(codec.concat(reqs));
    out.last_hidden_state = resizeAxis(out.last_hidden_state!, 1, 3, 0);
    assertCorral(() => codec.split(out, [1, 1], reqs), 'INFERENCE_REJECTED',
      "Output 'last_hidden_state' has shape [2,3,2], not the padded length 4 on axis 1; its requests run alone.");
  });

  test('queued requests batch by the padding bound, FIFO from the head, and each answer equals running it alone', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const codec = paddedCodecFor(plan, sig.outputs);
    const batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
      codec,
      execute: async (input) => {
        if (batches.length === 0) await gate;
        batches.push(input.inputs.attention_mask ? [input.inputs.attention_mask.shape[0]!, input.inputs.attention_mask.shape[1]!] : []);
        return echoModel(input);
      },
      config: () => ({ maxBatchSize: 32, maxQueueDelayMicroseconds: 0 }),
      capacity: () => 1,
      maxQueuedRows: 1000,
    });
    const lengths = [5, 10, 40, 12, 60, 14, 50, 3, 61];
    const reqs = lengths.map((n) => tokens(n));
    const answers = Promise.all(reqs.map((r) => batcher.submit(r)));
    release();
    const results = await answers;
    // The first ran alone (the gate); then [10,12,14,3] (≤16), [40,50] (≤1.25×40; 60 is not), [60,61].
    assert.deepEqual(batches, [[1, 5], [4, 14], [2, 50], [2, 61]]);
    results.forEach((r, i) => assert.deepEqual(r, echoModel(reqs[i]!), `request of length ${lengths[i]}`));
  });

  test('without padding, lengths never share a batch (the exact-shape rule)', () => {
    const codec = tensorCodecFor(sig.outputs);
    assert.notEqual(codec.key(tokens(3)), codec.key(tokens(4)));
    assert.equal(codec.key(tokens(3)), codec.key(tokens(3, 7)));
  });
});
