import type { BatchingConfig, CorralConfig } from '../config/config.js';
import { DynamicBatcher, tensorCodecFor } from '../batching/index.js';
import { CorralError, errors } from '../errors/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher } from '../queue/dispatcher.js';
import { hasBatchDimension, modelRef, type ModelRecord, type ModelRepository } from '../repository/index.js';
import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { ModelRef } from '../runtimes/runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import type { ExecutionTarget } from './execution-target.js';
import { validateInputs } from './validate-inputs.js';

export interface InferenceRequest {
  inputs: TensorMap;
  /** Output names to compute; all tensor outputs when absent. */
  outputs?: string[];
}

/** A dispatcher's run with a time limit (the local WorkerPool honours it; extra arguments are ignored elsewhere). */
interface TimeLimitedDispatcher {
  run(model: ModelRef, input: unknown, onChunk: ((data: unknown) => void) | undefined, limits: { timeoutMs: number }): Promise<unknown>;
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

  /**
   * Queues one request for a target; `onChunk` receives streamed output. The
   * whole request, queueing included, is bounded by the target's time limit
   * (`timeoutOf`): past it the request fails with TIMEOUT, and the worker pool
   * kills the worker its batch hung on. A streamed chunk restarts the clock.
   */
  submit<I, O>(target: ExecutionTarget<I, O>, input: I, onChunk?: (data: unknown) => void): Promise<O> {
    const limitMs = this.timeoutOf(target.label);
    return new Promise<O>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err instanceof CorralError && err.code === 'TIMEOUT') {
          this.metrics.inferenceTimeouts.inc({ model: target.label });
          err = this.timeoutError(target.label, limitMs);
        }
        reject(err);
      };
      const arm = () => {
        if (!(limitMs > 0)) return;
        clearTimeout(timer);
        timer = setTimeout(() => fail(this.timeoutError(target.label, limitMs)), limitMs);
      };
      arm();
      // After a timeout the client has its answer; late chunks go nowhere.
      const relay = onChunk && ((data: unknown) => { if (!settled) { arm(); onChunk(data); } });
      this.batcherFor(target).submit(input, relay).then((output) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(output);
      }, fail);
    });
  }

  /**
   * Limit on one request of a model or service, in ms: its API setting
   * (`timeout_ms`), then corral.json, then CORRAL_REQUEST_TIMEOUT_MS.
   */
  timeoutOf(name: string): number {
    return this.repository.find(name)?.timeoutMs ?? this.config.modelOverrides?.[name]?.timeoutMs ?? this.config.requestTimeoutMs;
  }

  /** Effective batching: API setting, then corral.json, then the server default. */
  batchingOf(model: ModelRecord): BatchingConfig {
    const { timeoutMs: _timeout, ...fromFile } = this.config.modelOverrides[model.name] ?? {};
    const merged = { ...this.config.batching, ...fromFile, ...model.batching };
    return hasBatchDimension(model) ? merged : { ...merged, maxBatchSize: 1 };
  }

  private timeoutError(name: string, limitMs: number): CorralError {
    const raise = this.repository.find(name)
      ? `set "timeout_ms" with PATCH /api/v1/models/${name}/config or in CORRAL_HOME/corral.json ("models": {"${name}": {"timeout_ms": ...}})`
      : `set "timeout_ms" for it in CORRAL_HOME/corral.json ("models": {"${name}": {"timeout_ms": ...}})`;
    return new CorralError('TIMEOUT',
      `Model '${name}' did not answer within its time limit of ${limitMs} ms; a worker stuck on it is killed and replaced. ` +
      `To allow more time, ${raise}, or raise CORRAL_REQUEST_TIMEOUT_MS for every model.`);
  }

  queueDepth(key: string): number {
    return this.batchers.get(key)?.depth ?? 0;
  }

  /**
   * Retires a target version: new requests no longer reach its batcher, the
   * requests already queued or running for it are answered, and only then do
   * the workers unload it. Resolves when they have been told to.
   */
  async retire(key: string): Promise<void> {
    const batcher = this.batchers.get(key);
    this.batchers.delete(key);
    await batcher?.drained();
    this.dispatcher.unload(key);
  }

  modelTarget(model: ModelRecord): ExecutionTarget<OnnxRequest, TensorMap> {
    return {
      ref: modelRef(model),
      label: model.name,
      // The signature says which outputs have a batch dimension to split results along.
      codec: tensorCodecFor(model.outputs),
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
          // The local pool takes the limit and kills a worker that hangs past it; other dispatchers ignore it.
          const limits = { timeoutMs: this.timeoutOf(target.label) };
          return (await (this.dispatcher as TimeLimitedDispatcher).run(ref, input, onChunk, limits)) as O;
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
