/**
 * The task table: every task a service can perform, which runtimes can do it,
 * how its requests batch, and the names people also call it by.
 * (Modelled on transformers.js' SUPPORTED_TASKS and TASK_ALIASES.)
 */
export type BatchKind = 'tensor' | 'text-list' | 'generation' | 'single';

export interface TaskInfo {
  runtimes: readonly string[];
  batch: BatchKind;
  /** Streams partial output (text generation). */
  streams?: boolean;
  aliases: readonly string[];
}

export const TASKS = Object.freeze({
  'feature-extraction': { runtimes: ['transformers', 'embed'], batch: 'text-list', aliases: ['embeddings', 'embedding', 'embed', 'sentence-embeddings'] },
  'text-classification': { runtimes: ['transformers'], batch: 'text-list', aliases: ['sentiment-analysis'] },
  'token-classification': { runtimes: ['transformers'], batch: 'text-list', aliases: ['ner'] },
  'zero-shot-classification': { runtimes: ['transformers'], batch: 'text-list', aliases: [] },
  'text-generation': { runtimes: ['transformers'], batch: 'generation', streams: true, aliases: ['text-generate', 'generate', 'chat'] },
  keyterms: { runtimes: ['keyterms'], batch: 'text-list', aliases: ['keyword-extraction', 'keywords'] },
  ocr: { runtimes: ['ocr'], batch: 'single', aliases: ['image-to-text', 'text-recognition'] },
  tensor: { runtimes: ['onnx'], batch: 'tensor', aliases: ['onnx', 'raw'] },
} satisfies Record<string, TaskInfo>);

export type Task = keyof typeof TASKS;

/** The canonical task for a name or alias, or undefined. */
export function canonicalTask(name: string): Task | undefined {
  if (name in TASKS) return name as Task;
  return (Object.keys(TASKS) as Task[]).find((t) => (TASKS[t].aliases as readonly string[]).includes(name));
}

/** What a caller is told about a task name that is neither a task nor an alias. */
export const unknownTaskMessage = (name: string): string => `Unknown task '${name}'; one of ${Object.keys(TASKS).join(', ')}.`;

/** The runtime a task uses when the service does not name one. */
export const defaultRuntime = (task: Task): string => TASKS[task].runtimes[0]!;
