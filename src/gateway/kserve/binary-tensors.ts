/**
 * Triton's binary tensor data extension (KServe v2 REST), as pure functions over
 * Buffers: a body is a JSON header of `Inference-Header-Content-Length` bytes,
 * then the raw bytes of every tensor whose `parameters.binary_data_size` says so,
 * in header order. Numbers are little-endian element bytes (FP16 as IEEE half
 * bits, BOOL one byte), BYTES elements a 4-byte little-endian length then bytes.
 */
import { CorralError } from '../../errors/index.js';
import { allocate, DATATYPES, elementCount, type Datatype, type Tensor, type TensorData } from '../../runtimes/index.js';

type FixedDatatype = Exclude<Datatype, 'BYTES'>;
type NumericArray = Exclude<TensorData, string[]>;
type NumericArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray; new (length: number): NumericArray; BYTES_PER_ELEMENT: number };

/** The storage type of each datatype, taken from tensor.ts's allocate (so the two cannot disagree). */
const ARRAY_OF = Object.fromEntries(DATATYPES.filter((d) => d !== 'BYTES').map((d) => [d, allocate(d, 0).constructor])) as Record<FixedDatatype, NumericArrayCtor>;
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Big-endian hosts (s390x) keep the wire little-endian by swapping a copy. */
function swapped(bytes: Uint8Array, width: number): Uint8Array {
  const copy = Buffer.from(bytes);
  if (width === 2) copy.swap16();
  else if (width === 4) copy.swap32();
  else if (width === 8) copy.swap64();
  return copy;
}

/** The JSON header and the binary part of a body, split at `Inference-Header-Content-Length`. */
export function splitInferBody(body: Buffer, headerLength: string | string[] | undefined): { header: Buffer; binary: Buffer } {
  const text = String(headerLength);
  if (!/^\d+$/.test(text)) {
    throw new CorralError('BAD_REQUEST', `Inference-Header-Content-Length must be the JSON header's length in bytes, got '${text}'.`);
  }
  const length = Number(text);
  if (length > body.length) {
    throw new CorralError('BAD_REQUEST', `Inference-Header-Content-Length is ${length} bytes, but the body has only ${body.length}.`);
  }
  return { header: body.subarray(0, length), binary: body.subarray(length) };
}

/** What binaryInputSlices reads of a request input. */
export interface InputHeader {
  name: string;
  data?: unknown;
  parameters?: Record<string, unknown>;
}

/**
 * Each input's slice of the binary part (undefined: the input carries JSON `data`).
 * Every byte must belong to exactly one input; `binary` is undefined for a plain JSON body.
 */
export function binaryInputSlices(inputs: readonly InputHeader[], binary: Buffer | undefined): Array<Buffer | undefined> {
  let offset = 0;
  const slices = inputs.map((input) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) throw new CorralError('INVALID_INPUT', `Input '${input.name}' has neither 'data' nor parameters.binary_data_size.`);
      return undefined;
    }
    if (input.data !== undefined) throw new CorralError('INVALID_INPUT', `Input '${input.name}' has both 'data' and parameters.binary_data_size; send one of them.`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new CorralError('INVALID_INPUT', `Input '${input.name}': parameters.binary_data_size must be a whole number of bytes, got ${JSON.stringify(size)}.`);
    }
    if (!binary) {
      throw new CorralError('INVALID_INPUT', `Input '${input.name}' has parameters.binary_data_size but the body has no binary part; send the Inference-Header-Content-Length header.`);
    }
    if (offset + size > binary.length) {
      throw new CorralError('INVALID_INPUT', `Input '${input.name}': binary_data_size ${size} from byte ${offset} runs past the end of the binary data (${binary.length} bytes).`);
    }
    offset += size;
    return binary.subarray(offset - size, offset);
  });
  if (binary && offset !== binary.length) {
    throw new CorralError('INVALID_INPUT', `${binary.length - offset} bytes of binary data after the inputs belong to no input (their binary_data_size add up to ${offset} of ${binary.length}).`);
  }
  return slices;
}

/**
 * A tensor over an input's bytes. Numbers are a view of the received Buffer when it
 * is aligned for the element size (no copy), a copy otherwise.
 * @example tensorFromBinary('x', 'FP32', [1, 2], Buffer.from(Float32Array.of(1, 2).buffer))
 */
export function tensorFromBinary(name: string, datatype: Datatype, shape: number[], bytes: Buffer): Tensor {
  const count = elementCount(shape);
  if (datatype === 'BYTES') return { datatype, shape, data: readBytesElements(name, shape, count, bytes) };
  const Ctor = ARRAY_OF[datatype];
  const width = Ctor.BYTES_PER_ELEMENT;
  if (bytes.length !== count * width) {
    throw new CorralError('INVALID_INPUT', `Input '${name}': binary_data_size is ${bytes.length} bytes, but shape [${shape.join(',')}] of ${datatype} needs ${count * width} (${count} × ${width}).`);
  }
  if (datatype === 'BOOL') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) throw new CorralError('INVALID_INPUT', `Input '${name}' element ${bad}: BOOL bytes must be 0 or 1, got ${bytes[bad]}.`);
  }
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % width === 0) return { datatype, shape, data: new Ctor(bytes.buffer, bytes.byteOffset, count) };
  const copy = new Ctor(count);
  new Uint8Array(copy.buffer).set(HOST_LITTLE_ENDIAN ? bytes : swapped(bytes, width));
  return { datatype, shape, data: copy };
}

function readBytesElements(name: string, shape: number[], count: number, bytes: Buffer): string[] {
  const fail = (what: string) => new CorralError('INVALID_INPUT', `Input '${name}' (BYTES, shape [${shape.join(',')}]): ${what}.`);
  // Checked before allocating: each element takes at least its 4-byte length.
  if (count * 4 > bytes.length) throw fail(`${count} elements need at least ${count * 4} bytes, binary_data_size is ${bytes.length}`);
  const values = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) throw fail(`element ${i} has no 4-byte length before the end of its ${bytes.length} bytes`);
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (offset + length > bytes.length) throw fail(`element ${i} is ${length} bytes from byte ${offset}, past the end of its ${bytes.length} bytes`);
    values[i] = bytes.toString('utf8', offset, offset + length);
    offset += length;
  }
  if (offset !== bytes.length) throw fail(`its ${count} elements take ${offset} bytes, binary_data_size is ${bytes.length}`);
  return values;
}

/** A tensor's wire bytes: a view of its data for numbers (little-endian hosts), a new Buffer for BYTES. */
export function tensorToBinary(tensor: Tensor): Uint8Array {
  const { data } = tensor;
  if (Array.isArray(data)) return writeBytesElements(data);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return HOST_LITTLE_ENDIAN ? bytes : swapped(bytes, data.BYTES_PER_ELEMENT);
}

function writeBytesElements(values: readonly string[]): Buffer {
  let total = 0;
  for (const v of values) total += 4 + Buffer.byteLength(v);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const v of values) {
    const length = out.write(v, offset + 4);
    out.writeUInt32LE(length, offset);
    offset += 4 + length;
  }
  return out;
}

/**
 * One body: the JSON header, then `parts` in order, written once into a single Buffer
 * (the numbers are never JSON-encoded). `headerLength` goes in Inference-Header-Content-Length.
 */
export function joinHeaderAndBinary(header: unknown, parts: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = JSON.stringify(header);
  const headerLength = Buffer.byteLength(json);
  let total = headerLength;
  for (const part of parts) total += part.byteLength;
  const body = Buffer.allocUnsafe(total);
  body.write(json, 0);
  let offset = headerLength;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return { body, headerLength };
}

/** What binaryOutputWanted reads of a request. */
export interface OutputRequest {
  parameters?: Record<string, unknown>;
  outputs?: ReadonlyArray<{ name: string; parameters?: Record<string, unknown> }>;
}

/**
 * Which outputs are answered as binary: an output's own `binary_data` decides, else
 * the request's `binary_data_output`. Undefined when none can be (the plain JSON answer).
 */
export function binaryOutputWanted(request: OutputRequest): ((name: string) => boolean) | undefined {
  const all = request.parameters?.binary_data_output === true;
  // A request that asks for no binary output gets undefined: the JSON answer, as before.
  const own = request.outputs?.filter((o) => o.parameters?.binary_data !== undefined) ?? [];
  if (!all && !own.some((o) => o.parameters!.binary_data === true)) return undefined;
  return (name) => {
    const o = own.find((x) => x.name === name);
    return o ? o.parameters!.binary_data === true : all;
  };
}
