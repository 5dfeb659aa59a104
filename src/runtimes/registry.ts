import type { Runtime } from './runtime.js';

/**
 * Every runtime a worker can host, by name, loaded on first use: a worker
 * serving an ONNX model never imports transformers.js or compiles OpenCV.
 */
const LOADERS: Readonly<Record<string, () => Promise<Runtime>>> = Object.freeze({
  onnx: async () => (await import('./onnx/onnx-runtime.js')).onnxRuntime,
  transformers: async () => (await import('./transformers/transformers-runtime.js')).transformersRuntime,
  embed: async () => (await import('./embed/embed-runtime.js')).embedRuntime,
  keyterms: async () => (await import('./keyterms/keyterms-runtime.js')).keytermsRuntime,
  ocr: async () => (await import('./ocr/ocr-runtime.js')).ocrRuntime,
});

export const RUNTIME_NAMES = Object.keys(LOADERS);

export async function runtimeNamed(name: string): Promise<Runtime> {
  const load = LOADERS[name];
  if (!load) throw new Error(`Unknown runtime '${name}'. Known: ${RUNTIME_NAMES.join(', ')}`);
  return load();
}
