/**
 * The tensor that crosses every boundary in Corral: API → batcher → worker → runtime.
 * Datatypes use KServe v2 names; data is a typed array (strings for BYTES) so it
 * crosses process boundaries by structured clone without per-element boxing.
 */
export const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

export type TensorData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array | string[];

export interface Tensor {
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

export type TensorMap = Record<string, Tensor>;

/** Declared shape of a model input/output: -1 marks a dimension of any size. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

const ORT_TO_DATATYPE: Record<string, Datatype> = {
  bool: 'BOOL', uint8: 'UINT8', int8: 'INT8', uint16: 'UINT16', int16: 'INT16', uint32: 'UINT32', int32: 'INT32',
  uint64: 'UINT64', int64: 'INT64', float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};
const DATATYPE_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_DATATYPE).map(([k, v]) => [v, k])) as Record<Datatype, string>;

export const datatypeFromOrt = (ortType: string): Datatype | undefined => ORT_TO_DATATYPE[ortType];
export const ortTypeOf = (datatype: Datatype): string => DATATYPE_TO_ORT[datatype];
export const isDatatype = (value: unknown): value is Datatype => typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);

type ArrayCtor = { new (length: number): Exclude<TensorData, string[]>; from(values: Iterable<unknown>): Exclude<TensorData, string[]> };
const ARRAY_OF: Record<Exclude<Datatype, 'BYTES'>, ArrayCtor> = {
  BOOL: Uint8Array, UINT8: Uint8Array, INT8: Int8Array, UINT16: Uint16Array, INT16: Int16Array, UINT32: Uint32Array,
  INT32: Int32Array, UINT64: BigUint64Array, INT64: BigInt64Array,
  // FP16 travels as raw IEEE half bits; JSON callers send numbers that are converted at the edge.
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
} as unknown as Record<Exclude<Datatype, 'BYTES'>, ArrayCtor>;

export const elementCount = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** An empty typed array of the datatype's storage type. */
export function allocate(datatype: Datatype, length: number): TensorData {
  return datatype === 'BYTES' ? new Array<string>(length).fill('') : new ARRAY_OF[datatype](length);
}

