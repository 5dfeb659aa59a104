import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../services/tasks.js';

/**
 * What a hub snapshot says about the task it was made for: its model card's
 * `pipeline_tag` (README.md front matter) and config.json's first architecture,
 * and whether its labels are NLI's (an `entailment` label: zero-shot classification).
 */
export interface TaskHints {
  pipelineTag?: string;
  architecture?: string;
  nliLabels?: boolean;
}

/** Hugging Face pipeline tags that name a task Corral serves. */
const PIPELINE_TAGS: Readonly<Record<string, Task>> = {
  'feature-extraction': 'feature-extraction',
  'sentence-similarity': 'feature-extraction',
  'text-classification': 'text-classification',
  'token-classification': 'token-classification',
  'zero-shot-classification': 'zero-shot-classification',
  'text-generation': 'text-generation',
};

/**
 * The task a snapshot serves, or null when it is none Corral runs (fill-mask,
 * translation, speech...) or it does not say. The model card wins: its author
 * chose the tag; the architecture is the fallback (the class transformers loads).
 */
export function taskOf(hints: TaskHints): Task | null {
  if (hints.pipelineTag) return PIPELINE_TAGS[hints.pipelineTag] ?? null;
  const arch = hints.architecture ?? '';
  if (arch.endsWith('ForSequenceClassification')) return hints.nliLabels ? 'zero-shot-classification' : 'text-classification';
  if (arch.endsWith('ForTokenClassification')) return 'token-classification';
  if (arch.endsWith('ForCausalLM') || arch.endsWith('LMHeadModel')) return 'text-generation';
  // The bare encoder (BertModel, MPNetModel, XLMRobertaModel): sentence embeddings.
  if (/^[A-Za-z0-9]+Model$/.test(arch)) return 'feature-extraction';
  return null;
}

/** Reads a local snapshot's hints; missing or unreadable files give none. */
export function readTaskHints(snapshotDir: string): TaskHints {
  const hints: TaskHints = {};
  const card = readHead(join(snapshotDir, 'README.md'));
  const tag = card === undefined ? undefined : pipelineTagOf(card);
  if (tag) hints.pipelineTag = tag;
  const config = readHead(join(snapshotDir, 'config.json'), 1024 ** 2);
  if (config !== undefined) {
    // Read as the remote scan's grep reads it (snapshot-scan.ts), so both scans agree on every file.
    const architecture = /"architectures":\["([A-Za-z0-9_]*)"/.exec(config.replace(/[ \t\r\n]/g, ''))?.[1];
    if (architecture) hints.architecture = architecture;
    // "entailment" among the labels (label2id, id2label): an NLI model.
    hints.nliLabels = /"entailment"/i.test(config);
  }
  return hints;
}

/** `pipeline_tag: text-generation` in a model card's front matter (quotes allowed). */
export function pipelineTagOf(card: string): string | undefined {
  return /^pipeline_tag:[\s"']*([a-z0-9-]+)/m.exec(card)?.[1];
}

function readHead(path: string, maxBytes = 8192): string | undefined {
  try {
    return readFileSync(path).subarray(0, maxBytes).toString('utf8');
  } catch {
    return undefined;
  }
}
