import { CorralError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { ERROR_CATALOG } from '../errors/index.js';
import { encodeFrame, INVOKE_CONTENT_TYPE, readFrames } from './invoke-frames.js';

/**
 * Sends one request to a service hosted elsewhere and relays its streamed
 * chunks; the host's error comes back with its own code and message.
 */
export async function invokeRemote(endpoint: string, serviceName: string, input: unknown, onChunk?: (data: unknown) => void): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${endpoint}/api/services/${encodeURIComponent(serviceName)}/invoke`, {
      method: 'POST',
      headers: { 'content-type': INVOKE_CONTENT_TYPE },
      body: encodeFrame({ input }),
    });
  } catch (err) {
    throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} is unreachable: ${(err as Error).message}`);
  }
  if (!response.body) throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} answered ${response.status} with no body.`);
  for await (const frame of readFrames(response.body as AsyncIterable<Uint8Array>)) {
    if (frame.type === 'chunk') onChunk?.(frame.data);
    else if (frame.type === 'result') return frame.output;
    else throw new CorralError(frame.code in ERROR_CATALOG ? (frame.code as ErrorCode) : 'INFERENCE_FAILED', frame.message);
  }
  throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} closed the connection before answering.`);
}
