import type { BatchingConfig, CorralConfig } from '../config/config.js';
import { DynamicBatcher, tensorCodec } from '../batching/index.js';
import { errors } from '../errors/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher } from '../queue/dispatcher.js';
import { hasBatchDimension, modelRef, type ModelRecord, type ModelRepository } from '../repository/index.js';
import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import type { ExecutionTarget } from './execution-target.js';
import { validateInputs } from './validate-inputs.js';

export interface InferenceRequest {
  inputs: TensorMap;
  /** Output names to compute; all tensor outputs when absent. */
  outputs?: string[];
}

/**
 * The request path every API shares: a target (model version or service)
 * gets one batcher, which sends batches to the dispatcher (local worker pool,
 * or a remote queue).
 */
export class InferenceService {
  private readonly batchers = new Map<string, DynamicBatcher<unknown, unknown>>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly dispatcher: InferenceDispatcher,
    private readonly config: CorralConfig,
    private readonly metrics: CorralMetrics,
  ) {
    repository.onVersionRetired = (key) => this.retire(key);
  }

  /** Resolves a model and, when given, checks the requested version is the one served. */
  resolve(name: string, version?: string): ModelRecord {
    const model = this.repository.get(name);
    if (version !== undefined && version !== String(model.version)) throw errors.modelNotFound(name, version);
    return model;
  }

  /** Runs tensors through a repository model, after checking them against its signature. */
  async infer(model: ModelRecord, request: InferenceRequest): Promise<TensorMap> {
    validateInputs(model, request.inputs, request.outputs);
    return this.submit(this.modelTarget(model), { inputs: request.inputs, outputs: request.outputs });
  }

  /** Queues one request for a target; `onChunk` receives streamed output. */
  submit<I, O>(target: ExecutionTarget<I, O>, input: I, onChunk?: (data: unknown) => void): Promise<O> {
    return this.batcherFor(target).submit(input, onChunk);
  }

  /** Effective batching: API setting, then corral.json, then the server default. */
  batchingOf(model: ModelRecord): BatchingConfig {
    const merged = { ...this.config.batching, ...this.config.modelOverrides[model.name], ...model.batching };
    return hasBatchDimension(model) ? merged : { ...merged, maxBatchSize: 1 };
  }

  queueDepth(key: string): number {
    return this.batchers.get(key)?.depth ?? 0;
  }

  /** Forgets a target version: its batcher goes and workers unload it. */
  retire(key: string): void {
    this.batchers.delete(key);
    this.dispatcher.unload(key);
  }

  modelTarget(model: ModelRecord): ExecutionTarget<OnnxRequest, TensorMap> {
    return {
      ref: modelRef(model),
      label: model.name,
      codec: tensorCodec,
      // Looked up each time so a batching change through the API applies at once.
      batching: () => this.batchingOf(this.repository.find(model.name) ?? model),
    };
  }

  private batcherFor<I, O>(target: ExecutionTarget<I, O>): DynamicBatcher<I, O> {
    const existing = this.batchers.get(target.ref.key);
    if (existing) return existing as DynamicBatcher<I, O>;
    const labels = { model: target.label };
    const { ref } = target;
    const batcher = new DynamicBatcher<I, O>({
      codec: target.codec,
      execute: async (input, onChunk) => {
        const stop = this.metrics.inferenceDuration.startTimer(labels);
        try {
          return (await this.dispatcher.run(ref, input, onChunk)) as O;
        } finally {
          stop();
        }
      },
      config: target.batching,
      // The dispatcher knows how many batches its workers can take; a target may ask for fewer (replicas).
      capacity: () => Math.min(target.capacity?.() ?? Infinity, this.dispatcher.capacity(ref.name)),
      maxQueuedRows: this.config.maxQueuedRows,
      onQueueDepth: (rows) => this.metrics.queueDepth.set(labels, rows),
      onBatch: (rows) => this.metrics.batchSize.observe(labels, rows),
    });
    this.batchers.set(ref.key, batcher as DynamicBatcher<unknown, unknown>);
    return batcher;
  }
}
