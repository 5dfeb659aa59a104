import type { TensorSpec } from './tensor.js';

/** What a worker needs to load a model: which runtime, where its files are, and its cache key. */
export interface ModelRef {
  /** Unique per model version, e.g. "iris.onnx@2"; the worker caches loaded models by it. */
  key: string;
  /** The model or service name; remote work is queued per name (default: the key before '@'). */
  name?: string;
  runtime: string;
  path: string;
  /** Runtime-specific settings (task, pooling, ...). */
  options?: Record<string, unknown>;
}

/** A model held in memory by a runtime. `run` may be called concurrently. */
export interface LoadedModel {
  /** `emit` streams partial results (generated text) to the caller before the final output. */
  run(input: unknown, emit?: (chunk: unknown) => void): Promise<unknown>;
  /** Approximate memory held, for the worker's LRU budget. */
  readonly sizeBytes: number;
  dispose(): Promise<void>;
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Per input and output, each dim's symbolic name ('batch', 'sequence'; '' when fixed or unnamed), for padded batching. */
  dimNames?: Record<string, string[]>;
}

/**
 * The code that turns a model's files into something that answers requests.
 * Runtimes live in worker processes only; the gateway never loads a model.
 */
export interface Runtime {
  readonly name: string;
  load(ref: ModelRef, env: RuntimeEnv): Promise<LoadedModel>;
  /** Loads the file just long enough to validate it and read its signature. */
  inspect?(path: string, env: RuntimeEnv): Promise<ModelSignature>;
}

export interface RuntimeEnv {
  /** Intra-op threads the runtime may use. */
  threads: number;
  /** May runtimes download models from the Hugging Face hub? (CORRAL_ALLOW_REMOTE_MODELS) */
  allowRemoteModels: boolean;
  /** Where downloaded hub models are cached (CORRAL_MODEL_CACHE; default CORRAL_HOME/hub). */
  modelCacheDir: string;
}
