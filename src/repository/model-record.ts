import type { PaddingSetting } from '../batching/padding-setting.js';
import type { BatchingConfig } from '../config/config.js';
import type { ModelRef } from '../runtimes/runtime.js';
import type { TensorSpec } from '../runtimes/tensor.js';
import type { ModelsTable } from '../store/schema.js';
import { join } from 'node:path';

/** A model in the repository, as the rest of Corral sees it. */
export interface ModelRecord {
  name: string;
  version: number;
  format: 'onnx';
  description: string;
  /** Absolute path of the model file. */
  path: string;
  sizeBytes: number;
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Symbolic dim names per input/output ('' = fixed or unnamed); empty for models uploaded before they were recorded. */
  dimNames: Record<string, string[]>;
  /** Padding of token sequences set through the API (`false` = off); unset = corral.json, then automatic. */
  padding?: PaddingSetting;
  /** Settings made through the API; unset fields fall back to corral.json, then the server default. */
  batching: Partial<BatchingConfig>;
  /** Limit on one inference request set through the API; unset = corral.json, then CORRAL_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
  createdAt: string;
  updatedAt: string;
}

export function recordFromRow(row: ModelsTable, modelsDir: string): ModelRecord {
  const batching: Partial<BatchingConfig> = {};
  if (row.max_batch_size !== null) batching.maxBatchSize = row.max_batch_size;
  if (row.max_queue_delay_us !== null) batching.maxQueueDelayMicroseconds = row.max_queue_delay_us;
  return {
    name: row.name,
    version: row.version,
    format: 'onnx',
    description: row.description,
    path: join(modelsDir, row.file_path),
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    inputs: JSON.parse(row.inputs_json) as TensorSpec[],
    outputs: JSON.parse(row.outputs_json) as TensorSpec[],
    dimNames: row.dim_names_json ? JSON.parse(row.dim_names_json) as Record<string, string[]> : {},
    ...(row.padding_json ? { padding: JSON.parse(row.padding_json) as PaddingSetting } : {}),
    batching,
    ...(row.timeout_ms !== null && row.timeout_ms !== undefined ? { timeoutMs: row.timeout_ms } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What a worker needs to load this model version. */
export const modelRef = (model: ModelRecord): ModelRef => ({ key: `${model.name}@${model.version}`, name: model.name, runtime: 'onnx', path: model.path });

/** True when every input's first dimension is free, so requests can be stacked along it. */
export const hasBatchDimension = (model: ModelRecord): boolean =>
  model.inputs.length > 0 && model.inputs.every((i) => i.shape.length > 0 && i.shape[0] === -1);
