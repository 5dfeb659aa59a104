/**
 * The binary tensor codec (src/gateway/kserve/binary-tensors.ts) on its own: the
 * exact wire bytes of FP16, BOOL and BYTES (no fixture model takes them), views
 * vs copies, and a fast-check round trip of whole bodies (random inputs of every
 * datatype and shape, at every alignment) through join → split → slices → tensors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  binaryInputSlices, binaryOutputWanted, joinHeaderAndBinary, splitInferBody, tensorFromBinary, tensorToBinary,
} from '../../src/gateway/kserve/binary-tensors.js';
import { CorralError } from '../../src/errors/index.js';
import { float16BitsToNumber, numberToFloat16Bits } from '../../src/runtimes/float16.js';
import { DATATYPES, elementCount, tensorDataToJson, type Datatype, type Tensor } from '../../src/runtimes/index.js';

const bytesOf = (data: ArrayBufferView) => [...new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];

describe('wire bytes of each kind of element', () => {
  test('FP16 travels as IEEE half bits, little-endian, and decodes to the same numbers', () => {
    const half = Uint16Array.from([1, -2, 0.5, 65504].map(numberToFloat16Bits));
    const wire = tensorToBinary({ datatype: 'FP16', shape: [4], data: half });
    assert.deepEqual([...wire], [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b]);
    const back = tensorFromBinary('h', 'FP16', [4], Buffer.from(wire));
    assert.deepEqual(tensorDataToJson(back), [1, -2, 0.5, 65504]);
    assert.deepEqual([...(back.data as Uint16Array)].map(float16BitsToNumber), [1, -2, 0.5, 65504]);
  });

  test('BYTES elements are a 4-byte little-endian length then UTF-8 bytes', () => {
    const wire = tensorToBinary({ datatype: 'BYTES', shape: [3], data: ['a', 'hé', ''] });
    assert.deepEqual([...wire], [1, 0, 0, 0, 0x61, 3, 0, 0, 0, 0x68, 0xc3, 0xa9, 0, 0, 0, 0]);
    assert.deepEqual(tensorFromBinary('s', 'BYTES', [3], Buffer.from(wire)).data, ['a', 'hé', '']);
  });

  test('BOOL is one byte per element; INT64 eight, little-endian', () => {
    assert.deepEqual([...tensorToBinary({ datatype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) })], [1, 0, 1]);
    assert.deepEqual(tensorDataToJson(tensorFromBinary('b', 'BOOL', [3], Buffer.from([1, 0, 1]))), [true, false, true]);
    assert.deepEqual([...tensorToBinary({ datatype: 'INT64', shape: [1], data: BigInt64Array.of(-2n) })], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  test('an aligned slice becomes a view of the received bytes; an unaligned one a copy', () => {
    const body = Buffer.alloc(17);
    body.set(bytesOf(Float32Array.of(1.5, -3)), 0);
    body.set(bytesOf(Float32Array.of(1.5, -3)), 9);
    const aligned = tensorFromBinary('x', 'FP32', [2], body.subarray(0, 8));
    const unaligned = tensorFromBinary('x', 'FP32', [2], body.subarray(9, 17));
    assert.equal((aligned.data as Float32Array).buffer, body.buffer);
    assert.notEqual((unaligned.data as Float32Array).buffer, body.buffer);
    assert.deepEqual([...(aligned.data as Float32Array)], [1.5, -3]);
    assert.deepEqual([...(unaligned.data as Float32Array)], [1.5, -3]);
  });

  test('BYTES: too few bytes for the element count, a missing length, and leftover bytes are refused', () => {
    assert.throws(() => tensorFromBinary('s', 'BYTES', [1_000_000_000], Buffer.alloc(8)), /Input 's' \(BYTES, shape \[1000000000\]\): 1000000000 elements need at least 4000000000 bytes, binary_data_size is 8/);
    assert.throws(() => tensorFromBinary('s', 'BYTES', [2], Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0])), /element 1 has no 4-byte length before the end of its 8 bytes/);
    assert.throws(() => tensorFromBinary('s', 'BYTES', [1], Buffer.from([1, 0, 0, 0, 0x61, 9])), /its 1 elements take 5 bytes, binary_data_size is 6/);
  });
});

describe('which outputs are binary', () => {
  test('per output, request-wide, or none (undefined: the plain JSON answer)', () => {
    assert.equal(binaryOutputWanted({}), undefined);
    assert.equal(binaryOutputWanted({ outputs: [{ name: 'a', parameters: { binary_data: false } }] }), undefined);
    assert.equal(binaryOutputWanted({ parameters: { binary_data_output: 'yes' } }), undefined);
    const one = binaryOutputWanted({ outputs: [{ name: 'a', parameters: { binary_data: true } }, { name: 'b' }] })!;
    assert.deepEqual([one('a'), one('b'), one('c')], [true, false, false]);
    const all = binaryOutputWanted({ parameters: { binary_data_output: true }, outputs: [{ name: 'a', parameters: { binary_data: false } }] })!;
    assert.deepEqual([all('a'), all('b')], [false, true]);
  });
});

// ---------- property: whole bodies round-trip ----------

const WIDTH: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8,
};

/** A random tensor of any datatype: raw random element bytes for numbers (NaNs and all), 0/1 for BOOL, unicode strings for BYTES. */
const tensorArb: fc.Arbitrary<Tensor> = fc.tuple(fc.constantFrom(...DATATYPES), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }))
  .chain(([datatype, shape]) => {
    const count = elementCount(shape);
    if (datatype === 'BYTES') return fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { minLength: count, maxLength: count }).map((data) => ({ datatype, shape, data }));
    const width = WIDTH[datatype];
    const raw = datatype === 'BOOL'
      ? fc.uint8Array({ min: 0, max: 1, minLength: count, maxLength: count })
      : fc.uint8Array({ minLength: count * width, maxLength: count * width });
    return raw.map((bytes) => tensorFromBinary('t', datatype, shape, Buffer.from(bytes)));
  });

describe('property: encode then parse gives back every tensor', () => {
  test('join → split → slices → tensors, for random inputs, JSON and binary mixed, at random header padding', () => {
    fc.assert(fc.property(fc.array(fc.tuple(tensorArb, fc.boolean()), { minLength: 1, maxLength: 5 }), fc.nat({ max: 7 }), (inputs, pad) => {
      const parts: Uint8Array[] = [];
      const header = {
        id: ' '.repeat(pad),
        inputs: inputs.map(([t, binary], i) => {
          // The codec only needs to see that a JSON input has `data` (tensor-json.ts reads it).
          if (!binary) return { name: `in${i}`, datatype: t.datatype, shape: t.shape, data: ['json'] };
          const bytes = tensorToBinary(t);
          parts.push(bytes);
          return { name: `in${i}`, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.byteLength } };
        }),
      };
      const { body, headerLength } = joinHeaderAndBinary(header, parts);
      const split = splitInferBody(body, String(headerLength));
      const parsed = JSON.parse(split.header.toString('utf8')) as typeof header;
      assert.deepEqual(parsed, header);
      const slices = binaryInputSlices(parsed.inputs, split.binary);
      inputs.forEach(([t, binary], i) => {
        const slice = slices[i];
        assert.equal(slice !== undefined, binary);
        if (!slice) return;
        const back = tensorFromBinary(`in${i}`, t.datatype, t.shape, slice);
        assert.deepEqual(back.shape, t.shape);
        if (t.datatype === 'BYTES') assert.deepEqual(back.data, t.data);
        else assert.deepEqual(bytesOf(back.data as Exclude<Tensor['data'], string[]>), bytesOf(t.data as Exclude<Tensor['data'], string[]>));
        assert.equal(back.data.constructor, t.data.constructor);
      });
    }), { numRuns: 300 });
  });

  test('a body cut short anywhere in the binary part is refused with INVALID_INPUT, never a crash', () => {
    fc.assert(fc.property(fc.array(tensorArb, { minLength: 1, maxLength: 4 }), fc.nat(), (tensors, cutAt) => {
      const parts = tensors.map(tensorToBinary);
      const header = { inputs: tensors.map((t, i) => ({ name: `in${i}`, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: parts[i]!.byteLength } })) };
      const { body, headerLength } = joinHeaderAndBinary(header, parts);
      const binaryLength = body.length - headerLength;
      fc.pre(binaryLength > 0);
      const cut = body.subarray(0, headerLength + (cutAt % binaryLength));
      const split = splitInferBody(cut, String(headerLength));
      assert.throws(() => binaryInputSlices(header.inputs, split.binary), (err: unknown) => err instanceof CorralError && err.code === 'INVALID_INPUT' && /runs past the end of the binary data/.test(err.message));
    }), { numRuns: 200 });
  });
});
