// The 'transformers' runtime: Hugging Face models (config.json, tokenizer.json,
// onnx/model.onnx) run through transformers.js pipelines on onnxruntime-node.
//
// ref.path    a local model directory, a hub cache snapshot directory
//             (…/models--org--name/snapshots/<commit>), or a hub id ("org/name")
// ref.options task (required): feature-extraction | text-classification |
//             token-classification | zero-shot-classification | text-generation;
//             revision, dtype, pooling ('mean' | 'cls'), normalize (default true)

import { pipeline, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { join } from 'node:path';
import type { LoadedModel, ModelRef, Runtime, RuntimeEnv } from '../runtime.js';
import { featureExtraction } from './feature-extraction.js';
import { configureTransformersEnv, transformersSessionOptions } from './hf-env.js';
import { onnxWeightsSize } from './model-size.js';
import { resolveModelSource } from './model-source.js';
import { parseTransformersOptions, type TransformersOptions, type TransformersTask } from './options.js';
import type { TaskRunner, TextModel } from './task.js';
import { textClassification } from './text-classification.js';
import { textGeneration } from './text-generation.js';
import { tokenClassification } from './token-classification.js';
import { zeroShotClassification } from './zero-shot-classification.js';

const TASK_RUNNERS: Record<TransformersTask, (m: TextModel, options: TransformersOptions) => TaskRunner> = {
  'feature-extraction': (m, o) => featureExtraction(m, { pooling: o.pooling, normalize: o.normalize }),
  'text-classification': (m) => textClassification(m),
  'token-classification': (m) => tokenClassification(m),
  'zero-shot-classification': (m) => zeroShotClassification(m),
  'text-generation': (m) => textGeneration(m),
};

/** The parts of a transformers.js text pipeline this runtime uses. */
interface TextPipeline {
  model: PreTrainedModel;
  tokenizer?: PreTrainedTokenizer | null;
  dispose(): Promise<void>;
}

class TransformersModel implements LoadedModel {
  private disposed = false;

  constructor(
    private readonly pipe: TextPipeline,
    private readonly runner: TaskRunner,
    readonly sizeBytes: number,
    private readonly name: string,
  ) {}

  run(input: unknown, emit?: (chunk: unknown) => void): Promise<unknown> {
    if (this.disposed) return Promise.reject(new Error(`transformers model ${this.name} has been disposed`));
    return this.runner(input, emit);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.pipe.dispose();
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export const transformersRuntime: Runtime = {
  name: 'transformers',

  async load(ref: ModelRef, env: RuntimeEnv): Promise<LoadedModel> {
    const options = parseTransformersOptions(ref.options);
    const source = resolveModelSource(ref.path, env, options.revision);
    configureTransformersEnv(env);

    let pipe: TextPipeline;
    try {
      pipe = (await pipeline(options.task, source.model, {
        local_files_only: source.localFilesOnly,
        cache_dir: env.modelCacheDir,
        session_options: transformersSessionOptions(env),
        ...(options.revision && !source.dir ? { revision: options.revision } : {}),
        ...(options.dtype ? { dtype: options.dtype } : {}),
      })) as unknown as TextPipeline;
    } catch (err) {
      throw new Error(`transformers: cannot load ${source.model} for ${options.task}: ${message(err)}`, { cause: err });
    }
    if (!pipe.tokenizer) {
      await pipe.dispose();
      throw new Error(`transformers: ${source.model} has no tokenizer (tokenizer.json and tokenizer_config.json)`);
    }

    const runner = TASK_RUNNERS[options.task]({ model: pipe.model, tokenizer: pipe.tokenizer }, options);
    // Hub downloads land in transformers.js's cache layout: <cacheDir>/<org>/<name>/…
    const dir = source.dir ?? join(env.modelCacheDir, source.model);
    return new TransformersModel(pipe, runner, onnxWeightsSize(dir, options.dtype), ref.key);
  },
};
