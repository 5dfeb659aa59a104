// Approximate memory a loaded transformers model holds: the size of its ONNX weights.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TransformersDtype } from './options.js';

/** File-name suffix transformers.js adds per dtype (onnx/model{suffix}.onnx); fp32 on CPU by default. */
const DTYPE_SUFFIX: Record<string, string> = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q2: '_q2',
  q1: '_q1',
  q4f16: '_q4f16',
  q2f16: '_q2f16',
  q1f16: '_q1f16',
  bnb4: '_bnb4',
};

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/**
 * Bytes of the ONNX files loaded from `dir`/onnx for `dtype`: each "<name><suffix>.onnx"
 * plus its external data ("….onnx_data", "….onnx_data_1", …). Falls back to every
 * .onnx* file there, and to 0 when the directory is unknown.
 */
export function onnxWeightsSize(dir: string | undefined, dtype: TransformersDtype | undefined): number {
  const onnxDir = dir ? join(dir, 'onnx') : undefined;
  if (!onnxDir || !existsSync(onnxDir)) return 0;
  const files = readdirSync(onnxDir).filter((f) => f.includes('.onnx') && isFile(join(onnxDir, f)));
  const wanted = dtype && dtype !== 'auto' ? dtype : 'fp32';
  // "model.onnx" is fp32 and "model_quantized.onnx" q8: tell them apart by the stem's suffix.
  const dtypeOf = (file: string) => {
    const stem = file.slice(0, file.indexOf('.onnx'));
    return Object.keys(DTYPE_SUFFIX).find((d) => DTYPE_SUFFIX[d] !== '' && stem.endsWith(DTYPE_SUFFIX[d]!)) ?? 'fp32';
  };
  const selected = files.filter((f) => dtypeOf(f) === wanted);
  return (selected.length > 0 ? selected : files).reduce((sum, f) => sum + statSync(join(onnxDir, f)).size, 0);
}
