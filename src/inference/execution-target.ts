import type { BatchCodec } from '../batching/batch-codec.js';
import type { BatchingConfig } from '../config/config.js';
import type { ModelRef } from '../runtimes/runtime.js';

/**
 * Something requests can be sent to: a model version for a runtime, with how
 * its requests batch. Raw ONNX models and services both become targets, so
 * they share one request path.
 */
export interface ExecutionTarget<I, O> {
  ref: ModelRef;
  /** Metrics label: the model or service name. */
  label: string;
  /**
   * How requests join into batches and results split back. For a repository
   * model it is built from the model's signature (`tensorCodecFor(model.outputs)`),
   * which says which outputs have a batch dimension.
   */
  codec: BatchCodec<I, O>;
  /** Names the codec's settings (a model's padding): when it changes, requests go to a new batcher. */
  variant?: string;
  /** Read on every scheduling decision, so a change applies at once. */
  batching: () => BatchingConfig;
  /** Batches in flight at once; defaults to the dispatcher's capacity. */
  capacity?: () => number;
}
