// feature-extraction: TextListInput → TextListOutput<EmbeddingResult>.

import type { Tensor } from '@huggingface/transformers';
import type { EmbeddingResult, TextListOutput } from '../task-io.js';
import type { Pooling } from './options.js';
import { l2Normalize, pool } from './pooling.js';
import { encodeBatch, float32Data, forward, tokenCounts, type TaskRunner, type TextModel } from './task.js';
import { readTextList } from './text-input.js';

export interface EmbeddingOptions {
  pooling: Pooling;
  normalize: boolean;
}

/**
 * Instructor-style instructions are approximated by prefixing the text
 * ("instruction text") and pooling over all tokens; real Instructor models
 * exclude the instruction tokens from pooling.
 */
export function withInstruction(text: string, instruction: string | undefined): string {
  return instruction ? `${instruction} ${text}` : text;
}

/** Per-text embeddings: the model's token vectors pooled, or its own pooled output if it only has that. */
function embeddings(outputs: Record<string, Tensor>, mask: Tensor, pooling: Pooling): Float32Array[] {
  const tokens = outputs.last_hidden_state ?? outputs.token_embeddings ?? (outputs.logits?.dims.length === 3 ? outputs.logits : undefined);
  if (tokens) {
    const [batch, seq, hidden] = tokens.dims as [number, number, number];
    return pool({ data: float32Data(tokens), batch, seq, hidden }, mask.data as ArrayLike<number | bigint>, pooling);
  }
  const pooled = outputs.sentence_embedding ?? outputs.pooler_output;
  if (!pooled || pooled.dims.length !== 2) {
    throw new Error(`feature-extraction: the model has no last_hidden_state output (outputs: ${Object.keys(outputs).join(', ')})`);
  }
  const [batch, hidden] = pooled.dims as [number, number];
  const data = float32Data(pooled);
  return Array.from({ length: batch }, (_, b) => data.slice(b * hidden, (b + 1) * hidden));
}

export function featureExtraction(m: TextModel, opts: EmbeddingOptions): TaskRunner {
  return async (input): Promise<TextListOutput<EmbeddingResult>> => {
    const { texts, instructions } = readTextList(input, 'feature-extraction');
    const encoded = encodeBatch(m.tokenizer, texts.map((text, i) => withInstruction(text, instructions?.[i])));
    const vectors = embeddings(await forward(m.model, encoded), encoded.attention_mask, opts.pooling);
    const tokens = tokenCounts(encoded.attention_mask);
    return {
      results: vectors.map((v, i) => ({ embedding: opts.normalize ? l2Normalize(v) : v, tokens: tokens[i]! })),
    };
  };
}
