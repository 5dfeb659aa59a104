/**
 * Where the Compute Engine access token comes from, first match wins:
 * 1. CORRAL_GCE_TOKEN_COMMAND: a shell command printing a token;
 * 2. GOOGLE_APPLICATION_CREDENTIALS set: `gcloud auth application-default print-access-token`;
 * 3. the metadata server of the Compute Engine VM Corral runs on (its service account).
 * Tokens from commands are kept 5 minutes, the metadata server's until shortly before they expire.
 */
import { execFile } from 'node:child_process';

export const GCE_METADATA_TOKEN_URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';

export interface GceTokenOptions {
  /** Where the sources are read from, at each refresh (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Limit for a command or the metadata server (default 20 s). */
  timeoutMs?: number;
}

/** How long a token printed by a command is reused. */
const COMMAND_TOKEN_MS = 5 * 60_000;
/** A metadata token is renewed this long before it expires. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * A token getter for GceProvider that caches the token and shares one refresh between concurrent callers.
 *
 * @example
 * const provider = new GceProvider({ project, zone, instances, token: gceTokenSource() });
 */
export function gceTokenSource(options: GceTokenOptions = {}): () => Promise<string> {
  let cached: { token: string; until: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    pending ??= fetchGceToken(options)
      .then(({ token, validMs }) => {
        cached = { token, until: Date.now() + validMs };
        return token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** One token from the first source configured, and how long to reuse it. */
export async function fetchGceToken(options: GceTokenOptions = {}): Promise<{ token: string; validMs: number }> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const command = env.CORRAL_GCE_TOKEN_COMMAND?.trim();
  if (command) {
    return { token: await run('sh', ['-c', command], env, timeoutMs, `CORRAL_GCE_TOKEN_COMMAND (${command})`), validMs: COMMAND_TOKEN_MS };
  }
  if (env.GOOGLE_APPLICATION_CREDENTIALS) {
    const what = `gcloud auth application-default print-access-token (for GOOGLE_APPLICATION_CREDENTIALS=${env.GOOGLE_APPLICATION_CREDENTIALS})`;
    return { token: await run('gcloud', ['auth', 'application-default', 'print-access-token'], env, timeoutMs, what), validMs: COMMAND_TOKEN_MS };
  }
  return fromMetadataServer(env.CORRAL_GCE_METADATA_URL || GCE_METADATA_TOKEN_URL, timeoutMs);
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim().split('\n').slice(-3).join(' ') || err.message;
        return reject(new Error(`No Compute Engine access token: ${what} failed${err.killed ? ` (killed after ${timeoutMs} ms)` : ''}: ${detail}`, { cause: err }));
      }
      const token = String(stdout).trim();
      if (token === '') return reject(new Error(`No Compute Engine access token: ${what} printed nothing.`));
      resolve(token);
    });
  });
}

async function fromMetadataServer(url: string, timeoutMs: number): Promise<{ token: string; validMs: number }> {
  const hint = 'Set CORRAL_GCE_TOKEN_COMMAND to a command printing a token (e.g. gcloud auth print-access-token), or GOOGLE_APPLICATION_CREDENTIALS, or run Corral on a Compute Engine VM with a service account.';
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`No Compute Engine access token: the metadata server at ${url} cannot be reached (${err instanceof Error ? err.message : String(err)}). ${hint}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`No Compute Engine access token: the metadata server at ${url} answered HTTP ${res.status}: ${text.slice(0, 200)}. ${hint}`);
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`No Compute Engine access token: the metadata server at ${url} answered with no JSON: ${text.slice(0, 200)}`);
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new Error(`No Compute Engine access token: the metadata server at ${url} answered without an access_token.`);
  }
  const expiresMs = typeof body.expires_in === 'number' ? body.expires_in * 1000 : COMMAND_TOKEN_MS;
  return { token: body.access_token, validMs: Math.max(0, expiresMs - EXPIRY_MARGIN_MS) };
}
