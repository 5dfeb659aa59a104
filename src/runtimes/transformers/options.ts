// The `ref.options` a transformers model is registered with, checked once at load time.

export const TRANSFORMERS_TASKS = [
  'feature-extraction',
  'text-classification',
  'token-classification',
  'zero-shot-classification',
  'text-generation',
] as const;

export type TransformersTask = (typeof TRANSFORMERS_TASKS)[number];

export type Pooling = 'mean' | 'cls';

/** ONNX weight variants transformers.js can select (onnx/model{suffix}.onnx). */
export const TRANSFORMERS_DTYPES = [
  'auto', 'fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16', 'q2', 'q2f16', 'q1', 'q1f16',
] as const;
export type TransformersDtype = (typeof TRANSFORMERS_DTYPES)[number];

export interface TransformersOptions {
  task: TransformersTask;
  /** Hub branch, tag or commit; for hub ids only (local directories have one version). */
  revision?: string;
  dtype?: TransformersDtype;
  /** feature-extraction: how token vectors become one embedding (default 'mean'). */
  pooling: Pooling;
  /** feature-extraction: L2-normalize embeddings (default true). */
  normalize: boolean;
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Error(`transformers: ${what} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}

export function parseTransformersOptions(options: Record<string, unknown> | undefined): TransformersOptions {
  const o = options ?? {};
  if (o.task === undefined) {
    throw new Error(`transformers: options.task is required (one of ${TRANSFORMERS_TASKS.join(', ')})`);
  }
  const parsed: TransformersOptions = {
    task: oneOf('options.task', o.task, TRANSFORMERS_TASKS),
    pooling: o.pooling === undefined ? 'mean' : oneOf('options.pooling', o.pooling, ['mean', 'cls'] as const),
    normalize: true,
  };
  if (o.normalize !== undefined) {
    if (typeof o.normalize !== 'boolean') throw new Error('transformers: options.normalize must be a boolean');
    parsed.normalize = o.normalize;
  }
  if (o.revision !== undefined) {
    if (typeof o.revision !== 'string' || o.revision === '') throw new Error('transformers: options.revision must be a non-empty string');
    parsed.revision = o.revision;
  }
  if (o.dtype !== undefined) parsed.dtype = oneOf('options.dtype', o.dtype, TRANSFORMERS_DTYPES);
  return parsed;
}
