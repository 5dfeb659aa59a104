/**
 * The UI's only way to the gateway: same-origin fetch (the session cookie goes
 * along by itself), errors turned into ApiError with the server's own message,
 * whatever the API's envelope (plain `{error}`, MLBuffet's `http_status`, v2's
 * `{error}`, OpenAI's `{error: {message}}`). A 401 anywhere but the login tells
 * the app to show the login page.
 */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

export const UNAUTHORIZED_EVENT = 'corral:unauthorized';

/** The server's message from any of Corral's error envelopes. */
export function messageOf(body: unknown): { message?: string; code?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const status = b.http_status as { description?: unknown } | undefined;
  if (status && typeof status.description === 'string') return { message: status.description, code: typeof b.error === 'string' ? b.error : undefined };
  if (typeof b.error === 'string') return { message: b.error, code: typeof b.code === 'string' ? b.code : undefined };
  const e = b.error as { message?: unknown; code?: unknown } | undefined;
  if (e && typeof e.message === 'string') return { message: e.message, code: typeof e.code === 'string' ? e.code : undefined };
  return {};
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function errorFrom(status: number, statusText: string, body: unknown, retryAfterHeader: string | null, notifyUnauthorized: boolean): ApiError {
  const { message, code } = messageOf(body);
  if (status === 401 && notifyUnauthorized) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
  return new ApiError(message ?? `${status} ${statusText || 'error'}`, status, code, retryAfter(retryAfterHeader));
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  signal?: AbortSignal;
  /** The login page handles its own 401 (a wrong key). */
  quiet401?: boolean;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET', headers, signal: options.signal, credentials: 'same-origin',
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('The gateway cannot be reached: is it running?', 0);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) throw errorFrom(res.status, res.statusText, body, res.headers.get('retry-after'), !options.quiet401);
  return body as T;
}

export interface Upload {
  done: Promise<unknown>;
  abort(): void;
}

/**
 * A multipart upload with progress (fetch cannot report upload progress;
 * XMLHttpRequest can). `onProgress` gets 0..1.
 */
export function upload(method: string, path: string, field: string, file: File, onProgress: (fraction: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<unknown>((resolve, reject) => {
    xhr.open(method, path);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body: unknown;
      try { body = JSON.parse(xhr.responseText); } catch { body = xhr.responseText; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(errorFrom(xhr.status, xhr.statusText, body, xhr.getResponseHeader('retry-after'), true));
    };
    xhr.onerror = () => reject(new ApiError('The upload failed: the gateway cannot be reached.', 0));
    xhr.onabort = () => reject(new ApiError('Upload cancelled.', 0, 'CANCELLED'));
    const form = new FormData();
    form.append(field, file, file.name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

/**
 * A POST whose answer is read as a stream (OpenAI chat completions with
 * `stream: true`): the Response once it is ok, else the server's error.
 */
export async function postForStream(path: string, json: unknown, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST', signal, credentials: 'same-origin',
      headers: { accept: 'text/event-stream, application/json', 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('The gateway cannot be reached: is it running?', 0);
  }
  if (res.ok) return res;
  const text = await res.text();
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = text; }
  throw errorFrom(res.status, res.statusText, body, res.headers.get('retry-after'), true);
}

/** Server-sent events from a fetch body: calls `onData` with each event's data (joined `data:` lines). */
export async function readEvents(body: ReadableStream<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data !== '') onData(data);
    }
  }
}
