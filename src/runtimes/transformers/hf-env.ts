// transformers.js keeps its settings in one process-global `env`; a worker hosts
// models under a single RuntimeEnv, so each load simply (re)applies it.

import { env as hfEnv } from '@huggingface/transformers';
import type { InferenceSession } from 'onnxruntime-node';
import type { RuntimeEnv } from '../runtime.js';

export function configureTransformersEnv(env: RuntimeEnv): void {
  hfEnv.allowLocalModels = true;
  hfEnv.allowRemoteModels = env.allowRemoteModels;
  // Hub ids are looked up (and downloaded) under the model cache.
  hfEnv.localModelPath = env.modelCacheDir;
  hfEnv.cacheDir = env.modelCacheDir;
  hfEnv.useFSCache = true;
  hfEnv.useBrowserCache = false;
}

/** onnxruntime session options transformers.js passes through to every session it creates. */
export function transformersSessionOptions(env: RuntimeEnv): InferenceSession.SessionOptions {
  // Like the onnx runtime: one worker per core already parallelises across requests.
  return { intraOpNumThreads: env.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
}
