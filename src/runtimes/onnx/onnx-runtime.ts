import { statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { datatypeFromOrt, ortTypeOf, type Tensor, type TensorMap, type TensorSpec } from '../tensor.js';
import { InvalidInputError } from '../input-error.js';
import type { LoadedModel, ModelRef, ModelSignature, Runtime, RuntimeEnv } from '../runtime.js';

/** Input of the onnx runtime: named tensors and, optionally, which outputs to compute. */
export interface OnnxRequest {
  inputs: TensorMap;
  outputs?: string[];
}

function sessionOptions(env: RuntimeEnv): ort.InferenceSession.SessionOptions {
  // One worker per core already parallelises across requests; more threads per
  // session would oversubscribe the cores.
  return { intraOpNumThreads: env.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
}

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const m of metadata) {
    if (!m.isTensor) continue; // sequences/maps (e.g. sklearn ZipMap) cannot be returned by onnxruntime-node
    const datatype = datatypeFromOrt(m.type);
    if (!datatype) continue;
    specs.push({ name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) });
  }
  return specs;
}

/** Each tensor's symbolic dim names ('' for a fixed or unnamed dim): padded batching matches outputs' sequence dims by name. */
function dimNamesOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): Record<string, string[]> {
  const names: Record<string, string[]> = {};
  for (const m of metadata) if (m.isTensor) names[m.name] = m.shape.map((d) => (typeof d === 'string' ? d : ''));
  return names;
}

/**
 * onnxruntime's own checks of the feeds and fetches, done before the graph runs.
 * onnxruntime-node gives them no error class or code: onnxruntime-common throws
 * `Error`/`RangeError` from its argument checks (inference-session-impl.js), and
 * the native binding rethrows the C++ status as a plain `Error` with only its
 * message (InferenceSession::ValidateInputs/ValidateOutputs). So these are the
 * exact message openings of those checks; a failure inside the graph, or any
 * other error, is not the client's fault.
 */
const FEED_REJECTIONS: readonly RegExp[] = [
  /^Got invalid dimensions for input: /,
  /^Invalid rank for input: /,
  /^Unexpected input data type\. Actual: /,
  /^input '[^']*' is missing in 'feeds'\.$/,
  /^'fetches' contains invalid output name: /,
  /^Invalid input name: /,
  /^Invalid output name: /i,
];

function isFeedRejection(err: unknown): boolean {
  if (!(err instanceof Error) || (err.constructor !== Error && !(err instanceof RangeError))) return false;
  return FEED_REJECTIONS.some((re) => re.test(err.message));
}

const toOrt = (t: Tensor) => new ort.Tensor(ortTypeOf(t.datatype) as 'float32', t.data as Float32Array, t.shape);

function fromOrt(value: ort.OnnxValue): Tensor {
  const t = value as ort.Tensor;
  return { datatype: datatypeFromOrt(t.type)!, shape: [...t.dims], data: t.data as Tensor['data'] };
}

class OnnxModel implements LoadedModel {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly tensorOutputs: string[],
    readonly sizeBytes: number,
  ) {}

  async run(input: unknown): Promise<TensorMap> {
    const { inputs, outputs } = input as OnnxRequest;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(inputs)) feeds[name] = toOrt(tensor);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, outputs?.length ? outputs : this.tensorOutputs);
    } catch (err) {
      throw isFeedRejection(err) ? new InvalidInputError((err as Error).message) : err;
    }
    const out: TensorMap = {};
    for (const [name, value] of Object.entries(results)) out[name] = fromOrt(value);
    return out;
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}

export const onnxRuntime: Runtime = {
  name: 'onnx',
  async load(ref: ModelRef, env: RuntimeEnv) {
    const session = await ort.InferenceSession.create(ref.path, sessionOptions(env));
    const outputs = specsOf(session.outputMetadata).map((s) => s.name);
    return new OnnxModel(session, outputs, statSync(ref.path).size);
  },
  async inspect(path: string, env: RuntimeEnv): Promise<ModelSignature> {
    const session = await ort.InferenceSession.create(path, sessionOptions(env));
    try {
      const signature = { inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata), dimNames: dimNamesOf([...session.inputMetadata, ...session.outputMetadata]) };
      if (signature.outputs.length === 0) throw new Error('the model has no tensor outputs onnxruntime can return');
      return signature;
    } finally {
      await session.release();
    }
  },
};
