// text-classification: TextListInput (options.topK) → TextListOutput<LabelScore[]>.

import type { LabelScore, TextListOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { encodeBatch, float32Data, forward, labelNames, sigmoid, softmax, type TaskRunner, type TextModel } from './task.js';
import { readTextList } from './text-input.js';

/** options.topK: how many labels per text, best first (default 1; clamped to the label count). */
export function readTopK(options: Record<string, unknown> | undefined): number {
  const topK = options?.topK;
  if (topK === undefined || topK === null) return 1;
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1) {
    throw new InvalidInputError(`text-classification: options.topK must be a positive integer (got ${JSON.stringify(topK)})`);
  }
  return topK;
}

export function textClassification(m: TextModel): TaskRunner {
  // Multi-label models score each label independently (sigmoid); others share one softmax.
  const multiLabel = (m.model.config as { problem_type?: string }).problem_type === 'multi_label_classification';
  return async (input): Promise<TextListOutput<LabelScore[]>> => {
    const { texts, options } = readTextList(input, 'text-classification');
    const topK = readTopK(options);
    const { logits } = await forward(m.model, encodeBatch(m.tokenizer, texts));
    if (!logits || logits.dims.length !== 2) throw new Error('text-classification: the model has no [batch, labels] logits output');
    const [batch, count] = logits.dims as [number, number];
    const data = float32Data(logits);
    const labels = labelNames(m.model, count);
    const results = Array.from({ length: batch }, (_, b) => {
      const row = data.subarray(b * count, (b + 1) * count);
      const scores = multiLabel ? Array.from(row, sigmoid) : softmax(row);
      return scores
        .map((score, i) => ({ label: labels[i]!, score }))
        .sort((x, y) => y.score - x.score)
        .slice(0, topK);
    });
    return { results };
  };
}
