import { CorralError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { ERROR_CATALOG } from '../errors/index.js';
import { encodeFrame, INVOKE_CONTENT_TYPE, readFrames } from './invoke-frames.js';
import { REQUEST_ID_HEADER, type RequestTrace } from '../tracing/index.js';

/** Where a remote service runs and what its host wants to see (the credential derived from its launch token). */
export interface RemoteService {
  endpoint: string;
  name: string;
  hostCredential: string | null;
}

/**
 * Sends one request to a service hosted elsewhere and relays its streamed
 * chunks; the host's error comes back with its own code and message. Redirects
 * are refused: the credential goes to the registered endpoint and nowhere else.
 * The request's id travels as X-Request-Id (the host logs it under the same id),
 * and the host's timing of it comes back in the result frame.
 */
export async function invokeRemote(service: RemoteService, input: unknown, onChunk?: (data: unknown) => void, trace?: RequestTrace): Promise<unknown> {
  const { endpoint, name: serviceName, hostCredential } = service;
  let response: Response;
  try {
    response = await fetch(`${endpoint}/api/services/${encodeURIComponent(serviceName)}/invoke`, {
      method: 'POST',
      headers: {
        'content-type': INVOKE_CONTENT_TYPE,
        ...(hostCredential ? { authorization: `Bearer ${hostCredential}` } : {}),
        ...(trace ? { [REQUEST_ID_HEADER]: trace.id } : {}),
      },
      body: encodeFrame({ input }),
      redirect: 'error',
    });
  } catch (err) {
    throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} is unreachable: ${(err as Error).message}`);
  }
  if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith(INVOKE_CONTENT_TYPE)) {
    // Not frames: the host refused the call itself (a wrong host credential is a 401).
    const text = (await response.text().catch(() => '')).slice(0, 500);
    throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} answered ${response.status}${text ? `: ${text}` : ''}`);
  }
  if (!response.body) throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} answered ${response.status} with no body.`);
  for await (const frame of readFrames(response.body as AsyncIterable<Uint8Array>)) {
    if (frame.type === 'chunk') onChunk?.(frame.data);
    else if (frame.type === 'result') {
      trace?.adopt(frame.timing);
      return frame.output;
    }
    else throw new CorralError(frame.code in ERROR_CATALOG ? (frame.code as ErrorCode) : 'INFERENCE_FAILED', frame.message);
  }
  throw new CorralError('INFERENCE_FAILED', `Service '${serviceName}' at ${endpoint} closed the connection before answering.`);
}
