import { deserialize, serialize } from 'node:v8';
import type { BatchTiming } from '../tracing/index.js';

/**
 * The wire format between a gateway and a service host running elsewhere
 * (a Slurm job): length-prefixed v8-serialized frames, so typed arrays
 * (embeddings, tensors) cross without JSON, and generation can stream.
 */
export type InvokeFrame =
  | { type: 'chunk'; data: unknown }
  /** `timing`: how the request queued and ran on the host (Server-Timing at the gateway). */
  | { type: 'result'; output: unknown; timing?: BatchTiming }
  | { type: 'error'; code: string; message: string };

export const INVOKE_CONTENT_TYPE = 'application/x-corral-invoke';

export function encodeFrame(frame: InvokeFrame | { input: unknown }): Buffer {
  const body = serialize(frame);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** Splits a byte stream into frames as they arrive. */
export async function* readFrames(stream: AsyncIterable<Uint8Array>): AsyncGenerator<InvokeFrame> {
  let pending = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0);
      if (pending.length < 4 + size) break;
      yield deserialize(pending.subarray(4, 4 + size)) as InvokeFrame;
      pending = pending.subarray(4 + size);
    }
  }
}

/** The one frame of a request body. */
export function decodeFrame<T>(body: Buffer): T {
  const size = body.length >= 4 ? body.readUInt32BE(0) : -1;
  if (size < 0 || body.length !== 4 + size) throw new Error('malformed invoke frame');
  return deserialize(body.subarray(4)) as T;
}
