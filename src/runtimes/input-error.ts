/**
 * The request's input is wrong: a client error (400), the same on any worker,
 * so it is never retried. Runtimes throw it from their input checks, and the
 * onnx runtime when onnxruntime itself rejects a feed. Anything else a runtime
 * throws is an internal failure (5xx), whatever its message says.
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}
