import type { BatchingConfig, CorralConfig } from '../config/config.js';
import { DynamicBatcher, tensorCodec } from '../batching/index.js';
import { errors } from '../errors/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher } from '../queue/dispatcher.js';
import { hasBatchDimension, modelRef, type ModelRecord, type ModelRepository } from '../repository/index.js';
import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import { validateInputs } from './validate-inputs.js';

export interface InferenceRequest {
  inputs: TensorMap;
  /** Output names to compute; all tensor outputs when absent. */
  outputs?: string[];
}

/**
 * The request path every API shares: resolve the model, validate the input,
 * hand it to the model's batcher, which sends batches to the dispatcher
 * (local worker pool, or a remote queue).
 */
export class InferenceService {
  private readonly batchers = new Map<string, DynamicBatcher<OnnxRequest, TensorMap>>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly dispatcher: InferenceDispatcher,
    private readonly config: CorralConfig,
    private readonly metrics: CorralMetrics,
  ) {
    repository.onVersionRetired = (key) => {
      this.batchers.delete(key);
      dispatcher.unload(key);
    };
  }

  /** Resolves a model and, when given, checks the requested version is the one served. */
  resolve(name: string, version?: string): ModelRecord {
    const model = this.repository.get(name);
    if (version !== undefined && version !== String(model.version)) throw errors.modelNotFound(name, version);
    return model;
  }

  async infer(model: ModelRecord, request: InferenceRequest): Promise<TensorMap> {
    validateInputs(model, request.inputs, request.outputs);
    return this.batcherFor(model).submit({ inputs: request.inputs, outputs: request.outputs });
  }

  /** Effective batching: API setting, then corral.json, then the server default. */
  batchingOf(model: ModelRecord): BatchingConfig {
    const merged = { ...this.config.batching, ...this.config.modelOverrides[model.name], ...model.batching };
    return hasBatchDimension(model) ? merged : { ...merged, maxBatchSize: 1 };
  }

  queueDepth(model: ModelRecord): number {
    return this.batchers.get(modelRef(model).key)?.depth ?? 0;
  }

  private batcherFor(model: ModelRecord): DynamicBatcher<OnnxRequest, TensorMap> {
    const ref = modelRef(model);
    let batcher = this.batchers.get(ref.key);
    if (batcher) return batcher;
    const labels = { model: model.name };
    batcher = new DynamicBatcher<OnnxRequest, TensorMap>({
      codec: tensorCodec,
      execute: async (input) => {
        const stop = this.metrics.inferenceDuration.startTimer(labels);
        try {
          return (await this.dispatcher.run(ref, input)) as TensorMap;
        } finally {
          stop();
        }
      },
      // Looked up each time so a batching change through the API applies at once.
      config: () => this.batchingOf(this.repository.find(model.name) ?? model),
      capacity: () => this.dispatcher.capacity(),
      maxQueuedRows: this.config.maxQueuedRows,
      onQueueDepth: (rows) => this.metrics.queueDepth.set(labels, rows),
      onBatch: (rows) => this.metrics.batchSize.observe(labels, rows),
    });
    this.batchers.set(ref.key, batcher);
    return batcher;
  }
}
