import type { OnnxRequest } from '../runtimes/onnx/onnx-runtime.js';
import type { TensorMap } from '../runtimes/tensor.js';
import { tensorCodecFor, type BatchCodec } from './batch-codec.js';
import { paddedCodecFor } from './padded-codec.js';
import { usablePadding, type PaddableSignature } from './padding-plan.js';
import type { PaddingSetting } from './padding-setting.js';

/**
 * The codec of a repository model: padded batching when its signature and
 * `padding` setting give a plan (see planPadding), else exact-shape batching.
 */
export function modelCodecFor(model: PaddableSignature, setting: PaddingSetting | undefined): BatchCodec<OnnxRequest, TensorMap> {
  const plan = usablePadding(model, setting);
  return plan ? paddedCodecFor(plan, model.outputs) : tensorCodecFor(model.outputs);
}
