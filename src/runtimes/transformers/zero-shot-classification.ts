// zero-shot-classification with an NLI model: each text is the premise, each
// candidate label becomes a hypothesis ("This example is {label}."), scored like
// transformers.js's pipeline but with all (text, label) pairs in batched forward passes.
// options: labels (string[], required), multiLabel (boolean), hypothesisTemplate ("…{}…").

import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { TextListOutput, ZeroShotResult } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { encodeBatch, float32Data, forward, softmax, type TaskRunner, type TextModel } from './task.js';
import { readTextList } from './text-input.js';

const DEFAULT_TEMPLATE = 'This example is {}.';
/** Premise/hypothesis pairs per forward pass, to bound memory for many texts × labels. */
const PAIRS_PER_PASS = 64;

interface ZeroShotOptions {
  labels: string[];
  multiLabel: boolean;
  template: string;
}

function readOptions(options: Record<string, unknown> | undefined): ZeroShotOptions {
  const labels = options?.labels;
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new InvalidInputError('zero-shot-classification: options.labels must be a non-empty array of candidate labels');
  }
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l.trim() === '') throw new InvalidInputError(`zero-shot-classification: options.labels[${i}] must be a non-empty string`);
  });
  const multiLabel = options?.multiLabel ?? false;
  if (typeof multiLabel !== 'boolean') throw new InvalidInputError('zero-shot-classification: options.multiLabel must be a boolean');
  const template = options?.hypothesisTemplate ?? DEFAULT_TEMPLATE;
  if (typeof template !== 'string' || !template.includes('{}')) {
    throw new InvalidInputError("zero-shot-classification: options.hypothesisTemplate must be a string containing '{}'");
  }
  return { labels: labels as string[], multiLabel, template };
}

/** Logit indices of entailment and contradiction from the NLI model's label2id. */
function nliIds(config: { label2id?: Record<string, number> }): { entailment: number; contradiction: number } {
  const ids = Object.fromEntries(Object.entries(config.label2id ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return { entailment: ids.entailment ?? 2, contradiction: ids.contradiction ?? ids.not_entailment ?? 0 };
}

/**
 * Shortens premises so that premise + longest hypothesis fit the model's max length.
 * (transformers.js truncates a pair as one sequence, which would cut the hypothesis
 * off a long premise; Python's pipeline truncates 'only_first'.)
 */
function fitPremises(tokenizer: PreTrainedTokenizer, texts: string[], hypotheses: string[]): string[] {
  const maxLength = tokenizer.model_max_length as number;
  if (!Number.isFinite(maxLength)) return texts;
  const count = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).length;
  const specials = tokenizer.encode('a', { text_pair: 'b' }).length - count('a') - count('b');
  const budget = maxLength - specials - Math.max(...hypotheses.map(count));
  if (budget < 1) return texts;
  return texts.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    return ids.length <= budget ? text : tokenizer.decode(ids.slice(0, budget), { skip_special_tokens: true });
  });
}

export function zeroShotClassification(m: TextModel): TaskRunner {
  const { entailment, contradiction } = nliIds(m.model.config as { label2id?: Record<string, number> });
  return async (input): Promise<TextListOutput<ZeroShotResult>> => {
    const { texts, options } = readTextList(input, 'zero-shot-classification');
    const { labels, multiLabel, template } = readOptions(options);
    const hypotheses = labels.map((label) => template.replace('{}', label));

    // [entailment, contradiction] logits of every (text, label) pair, text-major.
    const premises = fitPremises(m.tokenizer, texts, hypotheses).flatMap((text) => hypotheses.map(() => text));
    const pairs = texts.flatMap(() => hypotheses);
    const nli: Array<[number, number]> = [];
    for (let at = 0; at < premises.length; at += PAIRS_PER_PASS) {
      const end = Math.min(at + PAIRS_PER_PASS, premises.length);
      const { logits } = await forward(m.model, encodeBatch(m.tokenizer, premises.slice(at, end), pairs.slice(at, end)));
      if (!logits || logits.dims.length !== 2) throw new Error('zero-shot-classification: the model has no [batch, labels] logits output');
      const count = logits.dims[1]!;
      const data = float32Data(logits);
      for (let r = 0; r < end - at; r++) nli.push([data[r * count + entailment]!, data[r * count + contradiction]!]);
    }

    // Multi-label (or a single label): entailment vs contradiction per label;
    // otherwise a softmax of the entailment logits across labels.
    const independent = multiLabel || labels.length === 1;
    const results = texts.map((_, t) => {
      const rows = nli.slice(t * labels.length, (t + 1) * labels.length);
      const scores = independent ? rows.map(([e, c]) => softmax([c, e])[1]!) : softmax(rows.map(([e]) => e));
      const order = scores.map((score, i) => ({ score, label: labels[i]! })).sort((a, b) => b.score - a.score);
      return { labels: order.map((o) => o.label), scores: order.map((o) => o.score) };
    });
    return { results };
  };
}
