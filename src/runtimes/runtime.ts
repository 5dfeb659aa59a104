import type { TensorSpec } from './tensor.js';

/** What a worker needs to load a model: which runtime, where its files are, and its cache key. */
export interface ModelRef {
  /** Unique per model version, e.g. "iris.onnx@2"; the worker caches loaded models by it. */
  key: string;
  runtime: string;
  path: string;
  /** Runtime-specific settings (task, pooling, ...). */
  options?: Record<string, unknown>;
}

/** A model held in memory by a runtime. `run` may be called concurrently. */
export interface LoadedModel {
  run(input: unknown): Promise<unknown>;
  /** Approximate memory held, for the worker's LRU budget. */
  readonly sizeBytes: number;
  dispose(): Promise<void>;
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
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
}
