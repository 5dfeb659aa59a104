export * from './tensor.js';
export * from './tensor-json.js';
export type { LoadedModel, ModelRef, ModelSignature, Runtime, RuntimeEnv } from './runtime.js';
export { RUNTIMES, runtimeNamed } from './registry.js';
export type { OnnxRequest } from './onnx/onnx-runtime.js';
export type * from './task-io.js';
