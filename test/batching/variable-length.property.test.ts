/**
 * Property test (fast-check) of padded batching on a real model: the masked
 * encoder fixture in onnxruntime, its signature read by the onnx runtime's own
 * inspect. Whatever the requests (how many, their rows and lengths, masks with
 * their own trailing padding), with or without token_type_ids, and whichever
 * outputs are asked for, every request's share of one padded batch equals the
 * request run alone, in shape exactly and in value within 1e-4.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { modelCodecFor } from '../../src/batching/index.js';
import { onnxRuntime } from '../../src/runtimes/onnx/onnx-runtime.js';
import type { LoadedModel, ModelSignature } from '../../src/runtimes/runtime.js';
import type { OnnxRequest } from '../../src/runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../../src/runtimes/tensor.js';
import { buildMaskedEncoderModel } from '../fixtures/index.js';

const VOCAB = 50;
const MAX_SEQ = 40;
const OUTPUTS = ['last_hidden_state', 'pooled'];
const env = { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() };

interface Loaded {
  model: LoadedModel;
  signature: ModelSignature;
}

let dir: string;
const models: Record<'plain' | 'typed', Loaded> = {} as never;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-varlen-prop-'));
  for (const [name, tokenTypes] of [['plain', false], ['typed', true]] as const) {
    const path = join(dir, `${name}.onnx`);
    writeFileSync(path, buildMaskedEncoderModel({ hidden: 32, layers: 2, vocab: VOCAB, maxSeq: MAX_SEQ, tokenTypes, seed: 7 }));
    models[name] = { model: await onnxRuntime.load({ key: name, runtime: 'onnx', path }, env), signature: await onnxRuntime.inspect!(path, env) };
  }
});
after(async () => {
  for (const m of Object.values(models)) await m.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** One request: `rows` rows of `length` tokens; `padded` per row: its trailing masked positions (a row keeps at least one token). */
interface Drawn {
  rows: number;
  length: number;
  ids: number[];
  types: number[];
  padded: number[];
}

const requestArb: fc.Arbitrary<Drawn> = fc.record({ rows: fc.integer({ min: 1, max: 3 }), length: fc.integer({ min: 1, max: MAX_SEQ }) }).chain(({ rows, length }) => {
  const perToken = (max: number) => fc.array(fc.integer({ min: 0, max }), { minLength: rows * length, maxLength: rows * length });
  return fc.record({ ids: perToken(VOCAB - 1), types: perToken(1), padded: fc.array(fc.integer({ min: 0, max: length - 1 }), { minLength: rows, maxLength: rows }) })
    .map((r) => ({ rows, length, ...r }));
});

function toRequest(d: Drawn, tokenTypes: boolean, outputs: string[] | undefined): OnnxRequest {
  const shape = [d.rows, d.length];
  const mask = Array.from({ length: d.rows * d.length }, (_, i) => (i % d.length < d.length - d.padded[Math.floor(i / d.length)]! ? 1 : 0));
  const int64 = (values: number[]) => ({ datatype: 'INT64' as const, shape, data: BigInt64Array.from(values.map(BigInt)) });
  const inputs: TensorMap = { input_ids: int64(d.ids), attention_mask: int64(mask) };
  if (tokenTypes) inputs.token_type_ids = int64(d.types);
  return { inputs, ...(outputs ? { outputs } : {}) };
}

function assertClose(actual: TensorMap, expected: TensorMap, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), what);
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name]!;
    assert.deepEqual(got.shape, want.shape, `${what}: ${name} shape`);
    const a = got.data as Float32Array;
    const b = want.data as Float32Array;
    for (let i = 0; i < b.length; i++) {
      if (!(Math.abs(a[i]! - b[i]!) <= 1e-4)) assert.fail(`${what}: ${name}[${i}] is ${a[i]} batched, ${b[i]} alone`);
    }
  }
}

describe('padded batching on the masked encoder', () => {
  test('every request of a padded batch gets what it gets alone', async () => {
    await fc.assert(fc.asyncProperty(
      fc.boolean(),
      fc.array(requestArb, { minLength: 2, maxLength: 6 }),
      fc.option(fc.subarray(OUTPUTS, { minLength: 1 }), { nil: undefined }),
      async (tokenTypes, drawn, outputs) => {
        const { model, signature } = models[tokenTypes ? 'typed' : 'plain'];
        const codec = modelCodecFor({ ...signature, dimNames: signature.dimNames! }, undefined);
        assert.ok(codec.fits, 'the masked encoder is padded automatically');
        const requests = drawn.map((d) => toRequest(d, tokenTypes, outputs));
        assert.equal(new Set(requests.map((r) => codec.key(r))).size, 1, 'lengths do not split the key');
        const alone = await Promise.all(requests.map((r) => model.run(r) as Promise<TensorMap>));
        const batch = codec.concat(requests);
        const parts = codec.split(await model.run(batch) as TensorMap, requests.map((r) => codec.rows(r)), requests);
        assert.equal(parts.length, requests.length);
        parts.forEach((part, i) => assertClose(part, alone[i]!, `request ${i} (length ${drawn[i]!.length})`));
      }), { numRuns: 60 });
  });
});
