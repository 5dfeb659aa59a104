// The runtime registry is deliberately not exported here: only worker processes load runtimes.
export * from './tensor.js';
export * from './tensor-json.js';
export type { LoadedModel, ModelRef, ModelSignature, Runtime, RuntimeEnv } from './runtime.js';
export type { OnnxRequest } from './onnx/onnx-runtime.js';
export type * from './task-io.js';
