import type { Runtime } from './runtime.js';
import { onnxRuntime } from './onnx/onnx-runtime.js';
import { ocrRuntime } from './ocr/ocr-runtime.js';
import { embedRuntime } from './embed/embed-runtime.js';
import { keytermsRuntime } from './keyterms/keyterms-runtime.js';
import { transformersRuntime } from './transformers/transformers-runtime.js';

/** Every runtime a worker can host, by name. Later runtimes (transformers, embed, ocr) register here. */
export const RUNTIMES: Readonly<Record<string, Runtime>> = Object.freeze({
  [onnxRuntime.name]: onnxRuntime,
  [ocrRuntime.name]: ocrRuntime,
  [embedRuntime.name]: embedRuntime,
  [keytermsRuntime.name]: keytermsRuntime,
  [transformersRuntime.name]: transformersRuntime,
});

export function runtimeNamed(name: string): Runtime {
  const runtime = RUNTIMES[name];
  if (!runtime) throw new Error(`Unknown runtime '${name}'. Known: ${Object.keys(RUNTIMES).join(', ')}`);
  return runtime;
}
