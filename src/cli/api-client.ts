import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isLoopbackHost } from '../net/address-kind.js';
import { EXIT, ExitError } from './exit-error.js';

const hostOfUrl = (url: string) => {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
};

/** Where the CLI finds the gateway: --url, else CORRAL_HOST and CORRAL_PORT. */
export function gatewayUrl(url?: string): string {
  if (url) return url.replace(/\/$/, '');
  const host = process.env.CORRAL_HOST ?? '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${process.env.CORRAL_PORT ?? '8000'}`;
}

/** Where the API key the CLI sends came from (named in auth errors). */
export type KeySource =
  | { kind: 'flag' }
  | { kind: 'env' }
  | { kind: 'file'; path: string }
  | { kind: 'none'; path: string; remote?: true };

export interface Credential {
  /** The secret sent as `Authorization: Bearer`; undefined = no header. */
  key?: string;
  source: KeySource;
}

/** The gateway a command talks to and the key it sends. */
export interface Gateway {
  url: string;
  credential: Credential;
}

/** CORRAL_HOME/admin.key, as the gateway writes it on first start. */
export const adminKeyFile = (env: NodeJS.ProcessEnv = process.env) => join(resolve(env.CORRAL_HOME || join(homedir(), '.corral')), 'admin.key');

/**
 * The API key to send, from (in order) --api-key, CORRAL_API_KEY, or the
 * admin key the gateway wrote to CORRAL_HOME/admin.key when it is readable,
 * which is only ever sent to a gateway on this machine (a --url elsewhere
 * must not receive the local admin key). None of them: no Authorization header.
 */
export function resolveCredential(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, url = 'http://127.0.0.1'): Credential {
  if (flag !== undefined) {
    const key = flag.trim();
    if (!key) throw new ExitError('--api-key is empty.', EXIT.USAGE);
    return { key, source: { kind: 'flag' } };
  }
  const fromEnv = env.CORRAL_API_KEY?.trim();
  if (fromEnv) return { key: fromEnv, source: { kind: 'env' } };
  const path = adminKeyFile(env);
  if (!isLoopbackHost(hostOfUrl(url))) return { source: { kind: 'none', path, remote: true } };
  let fromFile = '';
  try {
    fromFile = readFileSync(path, 'utf8').trim();
  } catch {
    // Missing or not ours to read: no key.
  }
  return fromFile ? { key: fromFile, source: { kind: 'file', path } } : { source: { kind: 'none', path } };
}

/** The gateway and key of a command, from the global --url and --api-key options. */
export function gatewayOf(cmd: Command): Gateway {
  const opts = cmd.optsWithGlobals() as { url?: string; apiKey?: string };
  const url = gatewayUrl(opts.url);
  return { url, credential: resolveCredential(opts.apiKey, process.env, url) };
}

/** The headers every call to the gateway carries: the API key, when there is one. */
export function authHeaders(gateway: Gateway): Record<string, string> {
  return gateway.credential.key === undefined ? {} : { authorization: `Bearer ${gateway.credential.key}` };
}

/** Which key was sent, in words, for error messages. */
export function describeSource(source: KeySource): string {
  switch (source.kind) {
    case 'flag': return 'the key from --api-key';
    case 'env': return 'the key from CORRAL_API_KEY';
    case 'file': return `the admin key from ${source.path}`;
    case 'none': return source.remote
      ? `no API key (no --api-key, no CORRAL_API_KEY; ${source.path} is sent only to a gateway on this machine)`
      : `no API key (no --api-key, no CORRAL_API_KEY, and ${source.path} is not readable)`;
  }
}

/**
 * The one-line error for a refused credential (401 or 403): the gateway's
 * reason, which key the CLI sent, and how to send another.
 */
export function authErrorMessage(status: number, serverMessage: string, source: KeySource): string {
  const sent = `Sent ${describeSource(source)}`;
  if (source.kind === 'none') return `${serverMessage} ${sent}; pass --api-key <key> or set CORRAL_API_KEY (an admin makes keys with 'corral keys create').`;
  if (status === 403) return `${serverMessage} ${sent}; pass a key with that scope with --api-key or set CORRAL_API_KEY, or have an admin widen this one with 'corral keys update <id> --scopes ...'.`;
  return `${serverMessage} ${sent}; pass a valid key with --api-key or set CORRAL_API_KEY.`;
}

/** The message of a gateway error body, in any of its APIs' envelopes. */
export function errorMessageOf(json: unknown, status: number): string {
  const error = (json as { error?: string | { message?: string }; http_status?: { description?: string } } | undefined);
  return typeof error?.error === 'string' ? error.error : error?.error?.message ?? error?.http_status?.description ?? `HTTP ${status}`;
}

/** What a failed answer becomes: a one-line ExitError with a meaningful exit code. */
export function responseError(gateway: Gateway, status: number, json: unknown): ExitError {
  const message = errorMessageOf(json, status);
  if (status === 401 || status === 403) return new ExitError(authErrorMessage(status, message, gateway.credential.source), EXIT.FAILURE);
  return new ExitError(message, status === 404 ? EXIT.NOT_FOUND : status === 400 || status === 409 ? EXIT.USAGE : EXIT.FAILURE);
}

/** The error for a gateway that does not answer at all. */
export const unreachable = (gateway: Gateway) =>
  new ExitError(`Cannot reach Corral at ${gateway.url}; start it with 'corral start' or set CORRAL_HOST/CORRAL_PORT.`, EXIT.UNREACHABLE);

/**
 * A JSON call to the gateway, with the API key. Failures become one-line
 * ExitErrors: the server's own message (for a refused key, also which key
 * was sent and how to send another), or how to start the gateway when it is
 * not there.
 */
export async function api<T>(gateway: Gateway, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...authHeaders(gateway), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw unreachable(gateway);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (!res.ok) throw responseError(gateway, res.status, json);
  return json as T;
}
