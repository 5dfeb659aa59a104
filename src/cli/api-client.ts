import { EXIT, ExitError } from './exit-error.js';

/** Where the CLI finds the gateway: --url, else CORRAL_HOST and CORRAL_PORT. */
export function gatewayUrl(url?: string): string {
  if (url) return url.replace(/\/$/, '');
  const host = process.env.CORRAL_HOST ?? '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${process.env.CORRAL_PORT ?? '8000'}`;
}

/**
 * A JSON call to the gateway. Failures become one-line ExitErrors: the
 * server's own message, or how to start the gateway when it is not there.
 */
export async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ExitError(`Cannot reach Corral at ${base}; start it with 'corral start' or set CORRAL_HOST/CORRAL_PORT.`, EXIT.UNREACHABLE);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (!res.ok) {
    const error = (json as { error?: string | { message?: string }; http_status?: { description?: string } } | undefined);
    const message = typeof error?.error === 'string' ? error.error : error?.error?.message ?? error?.http_status?.description ?? `HTTP ${res.status}`;
    throw new ExitError(message, res.status === 404 ? EXIT.NOT_FOUND : res.status === 400 || res.status === 409 ? EXIT.USAGE : EXIT.FAILURE);
  }
  return json as T;
}
