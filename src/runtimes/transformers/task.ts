// What every task implementation gets from a loaded transformers.js pipeline, and
// small helpers over transformers.js tensors and model configs.

import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';

/** The model and tokenizer of a loaded pipeline. */
export interface TextModel {
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
}

/** Runs one request of a task (the body of LoadedModel.run). */
export type TaskRunner = (input: unknown, emit?: (chunk: unknown) => void) => Promise<unknown>;

/** Tokenizer output for a batch: int64 tensors [batch, seq]. */
export interface Encoded {
  input_ids: Tensor;
  attention_mask: Tensor;
  token_type_ids?: Tensor;
}

/** Tokenizes a batch with right-padding to the longest text and truncation to the model's max length. */
export function encodeBatch(tokenizer: PreTrainedTokenizer, texts: string[], pairs?: string[]): Encoded {
  return tokenizer(texts, { padding: true, truncation: true, ...(pairs ? { text_pair: pairs } : {}) }) as Encoded;
}

/** Runs the model's forward pass; returns its named outputs. */
export async function forward(model: PreTrainedModel, inputs: Encoded): Promise<Record<string, Tensor>> {
  return (await model(inputs)) as Record<string, Tensor>;
}

/** A tensor's values as float32 (converting fp16 outputs). */
export function float32Data(t: Tensor): Float32Array {
  const data = t.type === 'float32' ? t.data : t.to('float32').data;
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/** Tokens per row of a [batch, seq] attention mask. */
export function tokenCounts(mask: Tensor): number[] {
  const [batch, seq] = mask.dims as [number, number];
  const data = mask.data as ArrayLike<number | bigint>;
  return Array.from({ length: batch }, (_, b) => {
    let n = 0;
    for (let s = 0; s < seq; s++) if (Number(data[b * seq + s]) !== 0) n++;
    return n;
  });
}

/** id → label from the model config (config.json id2label), "LABEL_i" when absent. */
export function labelNames(model: PreTrainedModel, count: number): string[] {
  const id2label = (model.config as { id2label?: Record<string, string> }).id2label ?? {};
  return Array.from({ length: count }, (_, i) => id2label[i] ?? `LABEL_${i}`);
}

export function softmax(values: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const exps = Array.from(values, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
