import { CorralError } from '../errors/index.js';
import { allocate, elementCount, type Datatype, type Tensor, type TensorData } from './tensor.js';
import { float16BitsToNumber, numberToFloat16Bits } from './float16.js';

const INTEGER_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255], INT8: [-128, 127], UINT16: [0, 65535], INT16: [-32768, 32767],
  UINT32: [0, 4294967295], INT32: [-2147483648, 2147483647],
};

/** Flattens nested JSON arrays (row-major), as KServe allows both flat and nested `data`. */
export function flatten(values: unknown): unknown[] {
  if (!Array.isArray(values)) return [values];
  return Array.isArray(values[0]) || values.some(Array.isArray) ? values.flat(Infinity) : values;
}

/**
 * Builds a tensor from JSON numbers/booleans/strings, checking every element so a
 * bad value becomes a 400 naming the tensor and position, not a runtime crash.
 */
export function tensorFromJson(name: string, datatype: Datatype, shape: number[], values: unknown): Tensor {
  const flat = flatten(values);
  const expected = elementCount(shape);
  if (flat.length !== expected) {
    throw new CorralError('INVALID_INPUT', `Input '${name}': shape [${shape.join(',')}] needs ${expected} values, got ${flat.length}.`);
  }
  const data = allocate(datatype, flat.length);
  for (let i = 0; i < flat.length; i++) data[i] = convert(name, datatype, flat[i], i) as never;
  return { datatype, shape, data };
}

function fail(name: string, datatype: Datatype, value: unknown, index: number, what: string): CorralError {
  return new CorralError('INVALID_INPUT', `Input '${name}' element ${index}: expected ${what} for ${datatype}, got ${JSON.stringify(value)}.`);
}

/** One element, checked. Hot: runs per element of every request, so it allocates nothing unless it fails. */
function convert(name: string, datatype: Datatype, value: unknown, index: number): number | bigint | string {
  switch (datatype) {
    case 'BYTES':
      if (typeof value !== 'string') throw fail(name, datatype, value, index, 'a string');
      return value;
    case 'BOOL':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 0 || value === 1) return value;
      throw fail(name, datatype, value, index, 'true/false');
    case 'FP16': case 'FP32': case 'FP64': {
      if (typeof value !== 'number' || Number.isNaN(value)) throw fail(name, datatype, value, index, 'a number');
      return datatype === 'FP16' ? numberToFloat16Bits(value) : value;
    }
    case 'INT64': case 'UINT64': {
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
      if (typeof value !== 'number' || !Number.isInteger(value)) throw fail(name, datatype, value, index, 'an integer');
      if (datatype === 'UINT64' && value < 0) throw fail(name, datatype, value, index, 'a non-negative integer');
      return BigInt(value);
    }
    default: {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw fail(name, datatype, value, index, 'an integer');
      const [lo, hi] = INTEGER_RANGE[datatype]!;
      if (value < lo || value > hi) throw fail(name, datatype, value, index, `an integer in [${lo}, ${hi}]`);
      return value;
    }
  }
}

/** Flat JSON-safe values: int64 as numbers (exact up to 2^53), FP16 decoded, BOOL as booleans. */
export function tensorDataToJson(tensor: Tensor): Array<number | string | boolean> {
  const data: TensorData = tensor.data;
  if (Array.isArray(data)) return data;
  if (tensor.datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (tensor.datatype === 'FP16') return Array.from(data as Uint16Array, float16BitsToNumber);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as Float32Array);
}

/** Nests flat values by shape, for APIs (MLBuffet) that answer with nested lists. */
export function nest(values: unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return values;
  const [, ...rest] = shape;
  const stride = elementCount(rest);
  const out: unknown[] = [];
  for (let i = 0; i < values.length; i += stride) out.push(nest(values.slice(i, i + stride), rest));
  return out;
}
