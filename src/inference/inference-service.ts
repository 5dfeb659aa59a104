import type { Logger } from 'pino';
import type { BatchingConfig, CorralConfig } from '../config/config.js';
import type { BatchCodec } from '../batching/batch-codec.js';
import { DynamicBatcher, modelCodecFor, type PaddingSetting } from '../batching/index.js';
import { CorralError, errors } from '../errors/index.js';
import type { CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher, RunLimits } from '../dispatch/inference-dispatcher.js';
import { hasBatchDimension, modelRef, type ModelRecord, type ModelRepository } from '../repository/index.js';
import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import { tracing, type OtelSpan, type RequestTrace } from '../tracing/index.js';
import type { ExecutionTarget } from './execution-target.js';
import { validateInputs } from './validate-inputs.js';

export interface InferenceRequest {
  inputs: TensorMap;
  /** Output names to compute; all tensor outputs when absent. */
  outputs?: string[];
}

/**
 * One request as its batcher holds it. `settled` once its client is answered:
 * a request whose time ran out while it waited is answered (504) but still queued,
 * and must not run. `deadline` (epoch ms) is when its time runs out.
 */
interface Pending<I> {
  input: I;
  deadline: number;
  settled: boolean;
  /** performance.now() when queued; -1 once its queue wait has been recorded (a rejected batch's members run again). */
  queuedAt: number;
  /** Its request's id and timing, when it came through the gateway. */
  trace: RequestTrace | undefined;
  /** With a codec that routes a batch's streamed chunks: this request's own stream... */
  relay?: (data: unknown) => void;
  /** ...and its answer, given as soon as its part of the batch has ended. */
  complete?: (output: unknown) => void;
}

/**
 * The batcher queues lists of pending requests (one per request; a batch is its
 * members' lists joined) and answers each member with a one-element list, so
 * the batch's execute can leave out the members already answered. Every member
 * holds exactly one request, so `split` hands the i-th output to the i-th member.
 */
function pendingCodec<I, O>(codec: BatchCodec<I, O>): BatchCodec<Pending<I>[], Array<O | undefined>> {
  return {
    rows: (ps) => ps.reduce((n, p) => n + codec.rows(p.input), 0),
    key: (ps) => codec.key(ps[0]!.input),
    ...(codec.fits ? { fits: (lists, ps) => codec.fits!(lists.flat().map((p) => p.input), ps[0]!.input) } : {}),
    concat: (lists) => lists.flat(),
    split: (outputs, rows) => rows.map((_, i) => [outputs[i]]),
  };
}

/**
 * The request path every API shares: a target (model version or service)
 * gets one batcher, which sends batches to the dispatcher (local worker pool,
 * or a remote queue).
 */
export class InferenceService {
  private readonly batchers = new Map<string, DynamicBatcher<unknown, unknown>>();
  /** The codec variant each batcher was built with (ExecutionTarget.variant). */
  private readonly variants = new Map<string, string | undefined>();
  private readonly targets = new WeakMap<ModelRecord, ExecutionTarget<OnnxRequest, TensorMap>>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly dispatcher: InferenceDispatcher,
    private readonly config: CorralConfig,
    private readonly metrics: CorralMetrics,
    /** Debug lines about each batch dispatched, naming its requests. */
    private readonly logger?: Logger,
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
  async infer(model: ModelRecord, request: InferenceRequest, trace?: RequestTrace): Promise<TensorMap> {
    validateInputs(model, request.inputs, request.outputs);
    return this.submit(this.modelTarget(model), { inputs: request.inputs, outputs: request.outputs }, undefined, trace);
  }

  /**
   * Queues one request for a target; `onChunk` receives streamed output. The
   * whole request, queueing included, is bounded by the target's time limit
   * (`timeoutOf`): past it the request fails with TIMEOUT, and the worker pool
   * kills the worker its batch hung on. A streamed chunk restarts the clock.
   * `trace` names the request to the worker and receives its timing; a request
   * whose client goes away while it is queued is dropped, never run.
   */
  submit<I, O>(target: ExecutionTarget<I, O>, input: I, onChunk?: (data: unknown) => void, trace?: RequestTrace): Promise<O> {
    const limitMs = this.timeoutOf(target.label);
    if (trace?.clientGone) {
      this.metrics.abandoned.inc({ model: target.label });
      return Promise.reject(clientGone(target.label));
    }
    return new Promise<O>((resolve, reject) => {
      const pending: Pending<I> = { input, deadline: Infinity, settled: false, queuedAt: performance.now(), trace };
      const members = [pending];
      let timer: NodeJS.Timeout | undefined;
      let unwatch: (() => void) | undefined;
      const fail = (err: unknown) => {
        if (pending.settled) return;
        pending.settled = true;
        clearTimeout(timer);
        unwatch?.();
        if (err instanceof CorralError && err.code === 'TIMEOUT') {
          this.metrics.inferenceTimeouts.inc({ model: target.label });
          err = this.timeoutError(target.label, limitMs);
        }
        reject(err);
      };
      const arm = () => {
        if (!(limitMs > 0)) return;
        clearTimeout(timer);
        pending.deadline = Date.now() + limitMs;
        timer = setTimeout(() => fail(this.timeoutError(target.label, limitMs)), limitMs);
      };
      arm();
      // After a timeout the client has its answer; late chunks go nowhere.
      const relay = onChunk && ((data: unknown) => { if (!pending.settled) { arm(); onChunk(data); } });
      const succeed = (output: unknown) => {
        if (pending.settled) return;
        pending.settled = true;
        clearTimeout(timer);
        unwatch?.();
        resolve(output as O);
      };
      const batcher = this.batcherFor(target);
      // When the codec can tell a batch's chunks apart, a streamed request may share a batch:
      // it keeps its stream here instead of asking the batcher to run it alone.
      const routed = target.codec.routeChunk !== undefined;
      if (routed) Object.assign(pending, { relay, complete: succeed });
      batcher.submit(members, routed ? undefined : relay).then(([output]) => succeed(output), fail);
      // Still queued (every worker busy): if its client goes, it leaves the queue and is never run.
      if (trace && pending.queuedAt >= 0 && !pending.settled) {
        unwatch = trace.onClientGone(() => {
          if (!pending.settled && batcher.withdraw(members, clientGone(target.label))) this.metrics.abandoned.inc({ model: target.label });
        });
      }
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
    const { timeoutMs: _timeout, padding: _padding, ...fromFile } = this.config.modelOverrides[model.name] ?? {};
    const merged = { ...this.config.batching, ...fromFile, ...model.batching };
    return hasBatchDimension(model) ? merged : { ...merged, maxBatchSize: 1 };
  }

  /** Padding setting: API, then corral.json; undefined = automatic detection. */
  paddingOf(model: ModelRecord): PaddingSetting | undefined {
    return model.padding ?? this.config.modelOverrides[model.name]?.padding;
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
    this.variants.delete(key);
    await batcher?.drained();
    this.dispatcher.unload(key);
  }

  modelTarget(model: ModelRecord): ExecutionTarget<OnnxRequest, TensorMap> {
    // Built once per model record (a settings change makes a new record): the request path
    // does not re-plan padding or re-encode the setting on every request.
    let target = this.targets.get(model);
    if (!target) this.targets.set(model, target = this.buildModelTarget(model));
    return target;
  }

  private buildModelTarget(model: ModelRecord): ExecutionTarget<OnnxRequest, TensorMap> {
    return {
      ref: modelRef(model),
      label: model.name,
      // The signature says which outputs have a batch dimension to split results along,
      // and (with its dim names and the padding setting) whether sequences are padded to batch.
      codec: modelCodecFor(model, this.paddingOf(model)),
      variant: JSON.stringify(this.paddingOf(model) ?? null),
      // Looked up each time so a batching change through the API applies at once.
      batching: () => this.batchingOf(this.repository.find(model.name) ?? model),
    };
  }

  private batcherFor<I, O>(target: ExecutionTarget<I, O>): DynamicBatcher<Pending<I>[], Array<O | undefined>> {
    const existing = this.batchers.get(target.ref.key);
    // A changed codec (padding setting) gets a new batcher; the old one still answers what it holds.
    if (existing && this.variants.get(target.ref.key) === target.variant) return existing as DynamicBatcher<Pending<I>[], Array<O | undefined>>;
    const labels = { model: target.label };
    const queueWait = this.metrics.queueWait.labels(labels);
    const compute = this.metrics.compute.labels(labels);
    const { ref, codec } = target;
    const batcher = new DynamicBatcher<Pending<I>[], Array<O | undefined>>({
      codec: pendingCodec(codec),
      execute: async (members, onChunk) => {
        // A request whose time ran out while it waited has been answered 504: it is not run.
        const live = members.filter((p) => !p.settled);
        if (live.length === 0) return members.map(() => undefined);
        const input = live.length === 1 ? live[0]!.input : codec.concat(live.map((p) => p.input));
        const rows = live.map((p) => codec.rows(p.input));
        // Dispatched now: each member's wait ends, and the batch carries its requests' ids.
        const now = performance.now();
        const batchRows = rows.reduce((n, r) => n + r, 0);
        const requestIds: string[] = [];
        const otel = tracing.otel;
        // With tracing on: the server spans of the batch's requests (the first is the batch span's parent).
        const spans: OtelSpan[] | undefined = otel === null ? undefined : [];
        for (const p of live) {
          if (p.queuedAt >= 0) {
            const waited = now - p.queuedAt;
            queueWait.observe(waited / 1000);
            if (spans && p.trace?.span) otel!.pastSpan(p.trace.span, 'corral.queue', p.queuedAt, now, { 'corral.model': target.label });
            p.queuedAt = -1;
            if (p.trace) p.trace.queueMs = waited;
          }
          if (p.trace) {
            p.trace.batchRows = batchRows;
            requestIds.push(p.trace.id);
            if (spans && p.trace.span) spans.push(p.trace.span);
          }
        }
        // The batch may run until its last member's time runs out; the dispatcher
        // stops it there (the local pool kills the worker, a remote worker likewise).
        const deadline = Math.max(...live.map((p) => p.deadline));
        if (this.logger?.isLevelEnabled('debug')) this.logger.debug({ reqIds: requestIds, model: target.label, rows: batchRows }, 'batch dispatched');
        const timing: { computeMs?: number } = {};
        const limits: RunLimits = { timeoutMs: this.timeoutOf(target.label), ...(Number.isFinite(deadline) ? { deadline } : {}), requestIds, timing };
        // The batch's span: a child of its first request's server span, linked to the others'; the worker's compute span is its child.
        const batchSpan = spans && spans.length > 0
          ? otel!.childSpan(spans[0]!, 'corral.batch', { 'corral.model': target.label, 'corral.batch.rows': batchRows, 'corral.batch.requests': live.length }, spans.slice(1))
          : undefined;
        if (batchSpan) {
          limits.traceparent = otel!.traceparentOf(batchSpan);
          if (spans!.length > 1) limits.links = spans!.slice(1).map((s) => otel!.traceparentOf(s));
        }
        const stop = this.metrics.inferenceDuration.startTimer(labels);
        let output: O;
        try {
          const streamTo = codec.routeChunk && live.length > 1 ? routeChunks(codec, live) : live[0]!.relay ?? onChunk;
          output = (await this.dispatcher.run(ref, input, streamTo, limits)) as O;
        } catch (err) {
          if (batchSpan) otel!.endSpan(batchSpan, err);
          throw err;
        } finally {
          stop();
        }
        if (batchSpan) {
          if (timing.computeMs !== undefined) batchSpan.setAttribute('corral.compute_ms', timing.computeMs);
          otel!.endSpan(batchSpan);
        }
        if (timing.computeMs !== undefined) {
          compute.observe(timing.computeMs / 1000);
          for (const p of live) if (p.trace) p.trace.computeMs = timing.computeMs;
        }
        const parts = live.length === 1 ? [output] : codec.split(output, rows, live.map((p) => p.input));
        const byMember = new Map(live.map((p, i) => [p, parts[i]]));
        return members.map((p) => byMember.get(p));
      },
      config: target.batching,
      // The dispatcher knows how many batches its workers can take; a target may ask for fewer (replicas).
      capacity: () => Math.min(target.capacity?.() ?? Infinity, this.dispatcher.capacity(ref.name)),
      maxQueuedRows: this.config.maxQueuedRows,
      onQueueDepth: (rows) => this.metrics.queueDepth.set(labels, rows),
      onBatch: (rows) => this.metrics.batchSize.observe(labels, rows),
    });
    this.batchers.set(ref.key, batcher as DynamicBatcher<unknown, unknown>);
    this.variants.set(ref.key, target.variant);
    return batcher;
  }
}

/**
 * Hands each chunk of a batch's stream to its member (by its index in `live`, the
 * order the batch was built in): a delta to its stream, and an ended member's output
 * to its client at once, while the rest of the batch goes on.
 */
function routeChunks<I, O>(codec: BatchCodec<I, O>, live: readonly Pending<I>[]): (data: unknown) => void {
  return (data) => {
    for (const routed of codec.routeChunk!(data)) {
      const p = live[routed.member];
      if ('output' in routed) p?.complete?.(routed.output);
      else p?.relay?.(routed.chunk);
    }
  };
}

/** The answer of a request dropped because its client went away (nobody reads it). */
function clientGone(name: string): CorralError {
  return new CorralError('CLIENT_CLOSED', `The client closed its connection before its request to '${name}' ran; it was not run.`);
}
