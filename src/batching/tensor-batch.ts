import { CorralError } from '../errors/index.js';
import { allocate, elementCount, type Tensor, type TensorMap, type TensorSpec } from '../runtimes/tensor.js';

/** Rows a request contributes to a batch: its first dimension. */
export const rowsOf = (inputs: TensorMap): number => Object.values(inputs)[0]?.shape[0] ?? 1;

/**
 * Requests can share a batch only if every input has the same datatype and the
 * same non-batch dimensions; this key says which requests are compatible.
 */
export function batchKey(inputs: TensorMap, outputs: readonly string[] | undefined): string {
  const parts = Object.keys(inputs).sort().map((name) => {
    const t = inputs[name]!;
    return `${name}:${t.datatype}:${t.shape.slice(1).join('x')}`;
  });
  return `${parts.join('|')}>${outputs ? [...outputs].sort().join(',') : '*'}`;
}

/** Concatenates requests along dimension 0, one tensor per input name. */
export function concatBatch(requests: readonly TensorMap[]): TensorMap {
  if (requests.length === 1) return requests[0]!;
  const out: TensorMap = {};
  for (const name of Object.keys(requests[0]!)) {
    const parts = requests.map((r) => r[name]!);
    const first = parts[0]!;
    const rows = parts.reduce((n, t) => n + t.shape[0]!, 0);
    const shape = [rows, ...first.shape.slice(1)];
    const data = allocate(first.datatype, elementCount(shape));
    let offset = 0;
    for (const part of parts) {
      if (Array.isArray(data)) (part.data as string[]).forEach((v, i) => (data[offset + i] = v));
      else (data as Float32Array).set(part.data as Float32Array, offset);
      offset += part.data.length;
    }
    out[name] = { datatype: first.datatype, shape, data };
  }
  return out;
}

/**
 * The outputs a batch is split along: those whose declared shape (the model's
 * signature, as recorded at upload) starts with a free dimension, -1. Every
 * other output is the model's own (a constant vector, an embedding table) and
 * belongs whole to every request, whatever its size.
 */
export const batchedOutputs = (outputs: readonly TensorSpec[]): ReadonlySet<string> =>
  new Set(outputs.filter((o) => o.shape.length > 0 && o.shape[0] === -1).map((o) => o.name));

/**
 * Splits batch outputs back into per-request outputs by row counts. Only the
 * outputs named in `batched` are split; any other output goes whole to each
 * request, even when its first dimension happens to equal the batch's rows.
 * A batched output without one row per batch row cannot be split (its free
 * first dimension is not the batch after all): that is INFERENCE_REJECTED, so
 * the batcher runs the members alone.
 */
export function splitBatch(outputs: TensorMap, rowCounts: readonly number[], batched: ReadonlySet<string>): TensorMap[] {
  if (rowCounts.length === 1) return [outputs];
  const total = rowCounts.reduce((a, b) => a + b, 0);
  const results: TensorMap[] = rowCounts.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (!batched.has(name)) {
      results.forEach((r) => (r[name] = tensor));
      continue;
    }
    if (tensor.shape[0] !== total) {
      throw new CorralError('INFERENCE_REJECTED', `Output '${name}' has shape [${tensor.shape.join(',')}], not one row per row of the ${total}-row batch; its requests run alone.`);
    }
    const rowSize = elementCount(tensor.shape.slice(1));
    let row = 0;
    rowCounts.forEach((count, i) => {
      const data = tensor.data.slice(row * rowSize, (row + count) * rowSize) as Tensor['data'];
      results[i]![name] = { datatype: tensor.datatype, shape: [count, ...tensor.shape.slice(1)], data };
      row += count;
    });
  }
  return results;
}
