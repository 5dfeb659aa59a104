import type { Command } from 'commander';
import { MODEL_GLOB } from '../auth/model-globs.js';
import { api, gatewayOf, type Gateway } from './api-client.js';
import { EXIT, ExitError } from './exit-error.js';
import { printRecord, printTable } from './output.js';
import { wholeNumber } from './parse-flags.js';

type RateLimitView = { requests_per_minute: number; burst: number; concurrency?: number };
export type KeyView = {
  id: string; name: string; scopes: string[]; models: string[] | null; rate_limit: RateLimitView | null;
  expires_at: string | null; revoked_at: string | null; created_at: string; updated_at: string; imported: boolean;
};
type AuditEntry = { id: string; at: string; action: string; key_id: string | null; key_name: string | null; ip: string | null; target: string | null; detail: Record<string, unknown> | null };

const KEY_COLUMNS = ['id', 'name', 'scopes', 'models', 'limits', 'expires', 'status'];
const AUDIT_COLUMNS = ['time', 'action', 'key', 'ip', 'target', 'detail'];
const UNITS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--scopes read,infer` → ['read', 'infer']; the gateway says which names are unknown. */
export function parseScopeList(value: string): string[] {
  const scopes = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0) throw new ExitError('--scopes needs at least one scope, e.g. --scopes read,infer.', EXIT.USAGE);
  return scopes;
}

/** `--models 'iris*,embed'` → globs; `--models all` → null (every model and service). */
export function parseModelList(value: string): string[] | null {
  if (value.trim() === 'all') return null;
  const models = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (models.length === 0) throw new ExitError('--models needs names or globs, e.g. --models \'iris*,embed\', or all.', EXIT.USAGE);
  const bad = models.find((m) => !MODEL_GLOB.test(m));
  if (bad !== undefined) throw new ExitError(`--models: '${bad}' is not a model name or glob (letters, digits, . _ - and the wildcards * ?).`, EXIT.USAGE);
  return models;
}

/**
 * `--expires`: an ISO date or date-time (2027-01-31, 2027-01-31T12:00:00Z),
 * or a time from now: 12h, 30d, 8w; `never` → null. Returns an ISO date-time.
 */
export function parseExpiry(value: string, now: number = Date.now()): string | null {
  const text = value.trim();
  if (text === 'never') return null;
  const relative = /^(\d{1,6})([hdw])$/.exec(text);
  const at = relative ? now + Number(relative[1]) * UNITS[relative[2]!]! : Date.parse(text);
  if (Number.isNaN(at)) throw new ExitError(`--expires '${value}' is neither a date such as 2027-01-31 (or 2027-01-31T12:00:00Z) nor a time from now such as 30d, 12h or 8w.`, EXIT.USAGE);
  if (at <= now) throw new ExitError(`--expires '${value}' is not in the future.`, EXIT.USAGE);
  return new Date(at).toISOString();
}

/** `--rpm`: a whole number, or `none` to take the rate limit off (update). */
const rpmFlag = (value: string): number | 'none' => (value.trim() === 'none' ? 'none' : wholeNumber('--rpm', 1, 10_000_000)(value));

/** The LIMITS cell: 60/min, burst 120, 4 at once. */
export function describeLimits(limit: RateLimitView | null): string {
  if (!limit) return 'none';
  const parts = [`${limit.requests_per_minute}/min`];
  if (limit.burst !== limit.requests_per_minute) parts.push(`burst ${limit.burst}`);
  if (limit.concurrency !== undefined) parts.push(`${limit.concurrency} at once`);
  return parts.join(', ');
}

export function keyStatus(key: KeyView, now: number = Date.now()): 'active' | 'revoked' | 'expired' {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && Date.parse(key.expires_at) <= now) return 'expired';
  return 'active';
}

const withoutMillis = (iso: string | null) => iso && iso.replace(/\.\d{3}Z$/, 'Z');

/** A key as a table row for people. */
const keyRow = (k: KeyView) => ({
  id: k.id.slice(0, 13), name: k.name, scopes: k.scopes.join(','), models: k.models ? k.models.join(',') : 'all',
  limits: describeLimits(k.rate_limit), expires: withoutMillis(k.expires_at) ?? 'never', status: keyStatus(k),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A key's id from its id, a unique start of it (as `corral keys ls` shows
 * it), or a unique name. Nothing matching is a not-found error, or with
 * `missing` 'pass' the reference itself.
 */
async function resolveKeyId(gateway: Gateway, ref: string, missing: 'fail' | 'pass' = 'fail'): Promise<string> {
  if (UUID.test(ref)) return ref.toLowerCase();
  const keys = await api<KeyView[]>(gateway, 'GET', '/api/keys');
  const found = keys.filter((k) => k.id.startsWith(ref.toLowerCase()) || k.name === ref);
  if (found.length === 1) return found[0]!.id;
  if (found.length > 1) {
    throw new ExitError(`'${ref}' matches ${found.length} keys (${found.map((k) => `${k.id} ${k.name}`).join('; ')}); give more of the id.`, EXIT.USAGE);
  }
  if (missing === 'pass') return ref;
  throw new ExitError(`No API key '${ref}'; corral keys ls lists them.`, EXIT.NOT_FOUND);
}

/**
 * A flag value that may be null (all models, no expiry), boxed: Commander
 * turns a parser's null into ''.
 */
type Boxed<T> = { to: T };
const boxed = <T>(parse: (value: string) => T) => (value: string): Boxed<T> => ({ to: parse(value) });

type KeyFlags = { scopes?: string[]; models?: Boxed<string[] | null>; rpm?: number | 'none'; burst?: number; concurrency?: number; expires?: Boxed<string | null>; secret?: string };

/** The flags create and update share. */
function withKeyFlags(cmd: Command, forUpdate: boolean): Command {
  return cmd
    .option('--models <globs>', `comma-separated model and service names or globs it may use, e.g. 'iris*,embed'${forUpdate ? '; all = every one' : ' (default: all)'}`, boxed(parseModelList))
    .option('--rpm <n>', `requests per minute${forUpdate ? '; none = no rate limit' : ' (default: no rate limit)'}`, rpmFlag)
    .option('--burst <n>', 'requests at once after a quiet spell (default: the --rpm value)', wholeNumber('--burst', 1, 10_000_000))
    .option('--concurrency <n>', 'requests in flight at once (needs a rate limit)', wholeNumber('--concurrency', 1, 100_000))
    .option('--expires <when>', `expiry: a date (2027-01-31, 2027-01-31T12:00:00Z) or a time from now (12h, 30d, 8w)${forUpdate ? '; never = no expiry' : ''}`, boxed((v) => parseExpiry(v)));
}

/** The rate_limit a create sends: undefined when no limit flag was given. */
function newRateLimit(o: KeyFlags): RateLimitView | undefined {
  if (o.rpm === undefined || o.rpm === 'none') {
    if (o.burst !== undefined || o.concurrency !== undefined) throw new ExitError('--burst and --concurrency need --rpm (the requests per minute).', EXIT.USAGE);
    return undefined;
  }
  return { requests_per_minute: o.rpm, ...(o.burst !== undefined ? { burst: o.burst } : {}), ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}) } as RateLimitView;
}

/**
 * The rate_limit an update sends: `--rpm none` takes it off; otherwise the
 * flags given change the current limit (a new --rpm without --burst resets
 * the burst to the new rate). undefined = leave it as it is.
 */
function changedRateLimit(o: KeyFlags, current: RateLimitView | null): RateLimitView | null | undefined {
  if (o.rpm === 'none') {
    if (o.burst !== undefined || o.concurrency !== undefined) throw new ExitError('--rpm none takes the rate limit off; leave out --burst and --concurrency.', EXIT.USAGE);
    return null;
  }
  if (o.rpm === undefined && o.burst === undefined && o.concurrency === undefined) return undefined;
  const rpm = o.rpm ?? current?.requests_per_minute;
  if (rpm === undefined) throw new ExitError('This key has no rate limit: give --rpm (the requests per minute) with --burst or --concurrency.', EXIT.USAGE);
  const burst = o.burst ?? (o.rpm === undefined ? current?.burst : undefined);
  const concurrency = o.concurrency ?? current?.concurrency;
  return { requests_per_minute: rpm, ...(burst !== undefined ? { burst } : {}), ...(concurrency !== undefined ? { concurrency } : {}) } as RateLimitView;
}

export function registerKeyCommands(program: Command): void {
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);
  const keys = program.command('keys').description('manage API keys (admin): create, ls, show, update, revoke');

  withKeyFlags(keys.command('create')
    .description('create an API key: corral keys create ci --scopes read,infer --models \'iris*\' --rpm 600 --expires 30d')
    .argument('<name>', 'what the key is for (shown in ls, audit and metrics)')
    .requiredOption('--scopes <scopes>', 'comma-separated: read, infer, models:write, services:operate, services:write, metrics, admin', parseScopeList), false)
    .option('--secret <token>', 'import a token clients already hold (at least 16 characters) instead of generating one')
    .action(async (name: string, opts: KeyFlags, cmd: Command) => {
      const rateLimit = newRateLimit(opts);
      const created = await api<KeyView & { key: string }>(gatewayOf(cmd), 'POST', '/api/keys', {
        name, scopes: opts.scopes, models: opts.models?.to ?? undefined,
        rate_limit: rateLimit, expires_at: opts.expires?.to ?? undefined, secret: opts.secret,
      });
      if (json(cmd)) {
        console.log(JSON.stringify(created, null, 2));
        return;
      }
      printRecord({ id: created.id, name: created.name, scopes: created.scopes.join(','), key: created.key }, false);
      console.error('This is the only time the key is shown: store it now.');
    });

  keys.command('ls').description('list API keys (revoked and expired ones too)').action(async (_o: unknown, cmd: Command) => {
    const rows = await api<KeyView[]>(gatewayOf(cmd), 'GET', '/api/keys');
    printTable(json(cmd) ? rows : rows.map(keyRow), KEY_COLUMNS, json(cmd));
  });

  keys.command('show').description('show one API key (never its secret)')
    .argument('<id>', 'key id, the start of it, or the key\'s name')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const key = await api<KeyView>(gateway, 'GET', `/api/keys/${encodeURIComponent(await resolveKeyId(gateway, ref))}`);
      printRecord(json(cmd) ? key : {
        ...key, scopes: key.scopes.join(','), models: key.models ? key.models.join(',') : 'all',
        rate_limit: describeLimits(key.rate_limit), expires_at: key.expires_at ?? 'never', status: keyStatus(key),
      }, json(cmd));
    });

  withKeyFlags(keys.command('update')
    .description('change an API key: corral keys update <id> --scopes read --models all --rpm none --expires never')
    .argument('<id>', 'key id, the start of it, or the key\'s name')
    .option('--name <name>', 'new name')
    .option('--scopes <scopes>', 'comma-separated scopes (replace the current ones)', parseScopeList), true)
    .action(async (ref: string, opts: KeyFlags & { name?: string }, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const id = await resolveKeyId(gateway, ref);
      const path = `/api/keys/${encodeURIComponent(id)}`;
      const needsCurrent = opts.rpm === undefined && (opts.burst !== undefined || opts.concurrency !== undefined) || typeof opts.rpm === 'number';
      const current = needsCurrent ? await api<KeyView>(gateway, 'GET', path) : undefined;
      const patch = {
        name: opts.name, scopes: opts.scopes, models: opts.models?.to,
        rate_limit: changedRateLimit(opts, current?.rate_limit ?? null), expires_at: opts.expires?.to,
      };
      if (Object.values(patch).every((v) => v === undefined)) {
        throw new ExitError('Nothing to change: give --name, --scopes, --models, --rpm, --burst, --concurrency or --expires.', EXIT.USAGE);
      }
      const updated = await api<KeyView>(gateway, 'PATCH', path, patch);
      console.log(json(cmd) ? JSON.stringify(updated, null, 2) : `updated key ${updated.name} (${updated.id})`);
    });

  keys.command('revoke').description('revoke an API key for good (it stays listed as revoked)')
    .argument('<id>', 'key id, the start of it, or the key\'s name')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const revoked = await api<KeyView>(gateway, 'DELETE', `/api/keys/${encodeURIComponent(await resolveKeyId(gateway, ref))}`);
      console.log(json(cmd) ? JSON.stringify(revoked, null, 2) : `revoked key ${revoked.name} (${revoked.id}) at ${withoutMillis(revoked.revoked_at)}`);
    });
}

/** A detail object in one short cell: name=ci scopes=read,infer. */
const describeDetail = (detail: Record<string, unknown> | null) => detail && Object.entries(detail)
  .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');

export function registerAuditCommand(program: Command): void {
  program.command('audit')
    .description('the audit log (admin): key changes, failed logins, model, service and profile changes, newest first')
    .option('--limit <n>', 'most entries to show', wholeNumber('--limit', 1, 1000), 50)
    .option('--action <action>', 'only this action, e.g. key.create, key.revoke, auth.failure')
    .option('--key <id>', 'only what this key did (id, the start of it, or its name)')
    .action(async (opts: { limit: number; action?: string; key?: string }, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.action) query.set('action', opts.action);
      // An id that is no key (e.g. admin-token) is passed on as it is.
      if (opts.key) query.set('key_id', await resolveKeyId(gateway, opts.key, 'pass'));
      const entries = await api<AuditEntry[]>(gateway, 'GET', `/api/audit?${query}`);
      const asJson = Boolean(cmd.optsWithGlobals().json);
      printTable(asJson ? entries : entries.map((e) => ({
        time: withoutMillis(e.at), action: e.action, key: e.key_name ?? e.key_id, ip: e.ip, target: e.target, detail: describeDetail(e.detail),
      })), AUDIT_COLUMNS, asJson);
    });
}
