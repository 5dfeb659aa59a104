import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { authErrorMessage, resolveCredential } from '../../src/cli/api-client.js';
import { describeLimits, parseExpiry, parseModelList, parseScopeList } from '../../src/cli/key-commands.js';
import { ExitError } from '../../src/cli/exit-error.js';

interface KeyJson {
  id: string; name: string; key?: string; scopes: string[]; models: string[] | null;
  rate_limit: { requests_per_minute: number; burst: number; concurrency?: number } | null;
  expires_at: string | null; revoked_at: string | null; imported: boolean;
}
interface AuditJson { action: string; key_id: string | null; key_name: string | null; target: string | null; detail: Record<string, unknown> | null }

let server: TestServer;
/** A CORRAL_HOME with no admin.key: the CLI has no key unless one is given. */
let emptyHome: string;
before(async () => {
  server = await startTestServer({}, { CORRAL_AUTH: 'on' });
  emptyHome = mkdtempSync(join(tmpdir(), 'corral-cli-home-'));
});
after(async () => {
  await server.close();
  rmSync(emptyHome, { recursive: true, force: true });
});

/** The CLI as the gateway's owner: admin.key in CORRAL_HOME, no CORRAL_API_KEY. */
const asAdmin = (args: string[]) => runCli(server.url, args, { CORRAL_HOME: server.home, CORRAL_API_KEY: '' });
/** The CLI with CORRAL_API_KEY set (and admin.key still readable, which it must not use). */
const withEnvKey = (key: string, args: string[]) => runCli(server.url, args, { CORRAL_HOME: server.home, CORRAL_API_KEY: key });

const ok = (res: CliResult) => {
  assert.equal(res.code, 0, res.stderr);
  return res.stdout;
};
const created = async (args: string[]): Promise<KeyJson> => JSON.parse(ok(await asAdmin(['--json', 'keys', 'create', ...args]))) as KeyJson;

describe('corral keys and corral audit against a gateway with auth on', () => {
  test('keys create prints the id and the secret once; show, ls, update, revoke round trip', async () => {
    const create = await asAdmin(['keys', 'create', 'lab-client', '--scopes', 'read,infer', '--models', 'iris*,embed', '--rpm', '600', '--burst', '50', '--concurrency', '4', '--expires', '2099-01-31']);
    assert.equal(create.code, 0, create.stderr);
    const id = /^id\s+(\S+)$/m.exec(create.stdout)![1]!;
    const secret = /^key\s+(\S+)$/m.exec(create.stdout)![1]!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(create.stdout, /^name\s+lab-client$/m);
    assert.match(create.stdout, /^scopes\s+read,infer$/m);
    assert.equal(create.stderr, 'This is the only time the key is shown: store it now.\n');

    // The secret works, as the key it is.
    const listed = await withEnvKey(secret, ['--json', 'ls']);
    assert.equal(listed.code, 0, listed.stderr);

    const shown = JSON.parse(ok(await asAdmin(['--json', 'keys', 'show', id]))) as KeyJson;
    assert.deepEqual(
      { id: shown.id, name: shown.name, scopes: shown.scopes, models: shown.models, rate_limit: shown.rate_limit, expires_at: shown.expires_at, revoked_at: shown.revoked_at, imported: shown.imported },
      { id, name: 'lab-client', scopes: ['read', 'infer'], models: ['iris*', 'embed'], rate_limit: { requests_per_minute: 600, burst: 50, concurrency: 4 }, expires_at: '2099-01-31T00:00:00.000Z', revoked_at: null, imported: false },
    );
    assert.equal('key' in shown, false);
    // By the start of the id, as ls shows it, and by name.
    assert.equal((JSON.parse(ok(await asAdmin(['--json', 'keys', 'show', id.slice(0, 13)]))) as KeyJson).id, id);
    assert.equal((JSON.parse(ok(await asAdmin(['--json', 'keys', 'show', 'lab-client']))) as KeyJson).id, id);
    const human = ok(await asAdmin(['keys', 'show', id]));
    assert.match(human, /^status\s+active$/m);
    assert.match(human, /^scopes\s+read,infer$/m);
    assert.match(human, /^models\s+iris\*,embed$/m);
    assert.match(human, /^rate_limit\s+600\/min, burst 50, 4 at once$/m);
    assert.match(human, /^expires_at\s+2099-01-31T00:00:00.000Z$/m);

    const table = ok(await asAdmin(['keys', 'ls']));
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+SCOPES\s+MODELS\s+LIMITS\s+EXPIRES\s+STATUS$/);
    const row = lines.find((l) => l.startsWith(id.slice(0, 13)))!;
    assert.deepEqual(row.split(/\s{2,}/), [id.slice(0, 13), 'lab-client', 'read,infer', 'iris*,embed', '600/min, burst 50, 4 at once', '2099-01-31T00:00:00Z', 'active']);
    assert.ok(lines.some((l) => /^\S+\s+admin\s+admin\s+all\s+none\s+never\s+active$/.test(l)), table);

    // Only --burst: the rate stays, and so does the concurrency.
    const burst = JSON.parse(ok(await asAdmin(['--json', 'keys', 'update', id, '--burst', '100']))) as KeyJson;
    assert.deepEqual(burst.rate_limit, { requests_per_minute: 600, burst: 100, concurrency: 4 });
    const updated = JSON.parse(ok(await asAdmin(['--json', 'keys', 'update', id, '--name', 'lab-client-2', '--scopes', 'read', '--models', 'all', '--rpm', 'none', '--expires', 'never']))) as KeyJson;
    assert.deepEqual(
      { name: updated.name, scopes: updated.scopes, models: updated.models, rate_limit: updated.rate_limit, expires_at: updated.expires_at },
      { name: 'lab-client-2', scopes: ['read'], models: null, rate_limit: null, expires_at: null },
    );
    const rpm = await asAdmin(['keys', 'update', id, '--rpm', '30']);
    assert.equal(rpm.stdout, `updated key lab-client-2 (${id})\n`);
    assert.deepEqual((JSON.parse(ok(await asAdmin(['--json', 'keys', 'show', id]))) as KeyJson).rate_limit, { requests_per_minute: 30, burst: 30 });

    const revoke = await asAdmin(['keys', 'revoke', id]);
    assert.equal(revoke.code, 0, revoke.stderr);
    const revoked = JSON.parse(ok(await asAdmin(['--json', 'keys', 'show', id]))) as KeyJson;
    assert.match(revoked.revoked_at!, /^\d{4}-\d\d-\d\dT/);
    assert.equal(revoke.stdout, `revoked key lab-client-2 (${id}) at ${revoked.revoked_at!.replace(/\.\d{3}Z$/, 'Z')}\n`);
    const after = ok(await asAdmin(['keys', 'ls'])).split('\n').find((l) => l.startsWith(id.slice(0, 13)))!;
    assert.match(after, /\s+revoked$/);
  });

  test('keys create --json returns the whole response; --secret imports a token', async () => {
    const key = await created(['importer', '--scopes', 'read', '--secret', '0123456789abcdef0123456789abcdef']);
    assert.equal(key.key, '0123456789abcdef0123456789abcdef');
    assert.equal(key.name, 'importer');
    assert.deepEqual(key.scopes, ['read']);
    assert.equal(key.models, null);
    assert.equal(key.rate_limit, null);
    assert.equal(key.expires_at, null);
    assert.equal(key.imported, true);
    assert.equal((await withEnvKey('0123456789abcdef0123456789abcdef', ['ls'])).code, 0);
  });

  test('bad flags are usage errors (exit 2) with one line', async () => {
    const cases: Array<[string[], string]> = [
      [['keys', 'create', 'x', '--scopes', 'read', '--expires', 'tomorrow'], "corral: --expires 'tomorrow' is neither a date such as 2027-01-31 (or 2027-01-31T12:00:00Z) nor a time from now such as 30d, 12h or 8w.\n"],
      [['keys', 'create', 'x', '--scopes', 'read', '--expires', '2001-01-01'], "corral: --expires '2001-01-01' is not in the future.\n"],
      [['keys', 'create', 'x', '--scopes', 'read', '--burst', '5'], 'corral: --burst and --concurrency need --rpm (the requests per minute).\n'],
      [['keys', 'create', 'x', '--scopes', 'read', '--models', '../etc'], "corral: --models: '../etc' is not a model name or glob (letters, digits, . _ - and the wildcards * ?).\n"],
      [['keys', 'create', 'x', '--scopes', 'read,fly'], "corral: scopes: unknown scope 'fly'; scopes are read, infer, models:write, services:operate, services:write, metrics, admin.\n"],
      [['keys', 'update', 'admin'], 'corral: Nothing to change: give --name, --scopes, --models, --rpm, --burst, --concurrency or --expires.\n'],
      [['--api-key', '', 'keys', 'ls'], 'corral: --api-key is empty.\n'],
    ];
    for (const [args, stderr] of cases) {
      const res = await asAdmin(args);
      assert.equal(res.code, 2, args.join(' '));
      assert.equal(res.stderr, stderr);
    }
    const missing = await asAdmin(['keys', 'show', 'no-such-key']);
    assert.equal(missing.code, 4);
    assert.equal(missing.stderr, "corral: No API key 'no-such-key'; corral keys ls lists them.\n");
  });

  test('a read-only key from CORRAL_API_KEY can ls, but run fails naming the missing scope', async () => {
    const reader = await created(['reader', '--scopes', 'read']);
    const ls = await withEnvKey(reader.key!, ['ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout.split('\n')[0]!, /^ID\s+NAME\s+TASK/);
    const run = await withEnvKey(reader.key!, ['run', 'feature-extraction', '--model', '/nonexistent', '--name', 'not-allowed']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "corral: API key 'reader' lacks the 'services:write' scope this route needs. Sent the key from CORRAL_API_KEY; "
      + "pass a key with that scope with --api-key or set CORRAL_API_KEY, or have an admin widen this one with 'corral keys update <id> --scopes ...'.\n");
    const ls2 = JSON.parse(ok(await asAdmin(['--json', 'ls']))) as Array<{ name: string }>;
    assert.equal(ls2.some((s) => s.name === 'not-allowed'), false);
  });

  test('--api-key wins over CORRAL_API_KEY, which wins over admin.key', async () => {
    const ops = await created(['ops', '--scopes', 'admin']);
    const viewer = await created(['viewer', '--scopes', 'read']);

    // CORRAL_API_KEY over admin.key: the read-only key is refused the admin route admin.key could use.
    const envOverFile = await withEnvKey(viewer.key!, ['keys', 'ls']);
    assert.equal(envOverFile.code, 1);
    assert.match(envOverFile.stderr, /^corral: API key 'viewer' lacks the 'admin' scope this route needs\. Sent the key from CORRAL_API_KEY; /);

    // --api-key over CORRAL_API_KEY, both ways round.
    const flagOverEnv = await withEnvKey(viewer.key!, ['--api-key', ops.key!, '--json', 'keys', 'create', 'made-by-ops', '--scopes', 'read']);
    assert.equal(flagOverEnv.code, 0, flagOverEnv.stderr);
    const madeId = (JSON.parse(flagOverEnv.stdout) as KeyJson).id;
    const flagRefused = await withEnvKey(ops.key!, ['--api-key', viewer.key!, 'keys', 'ls']);
    assert.equal(flagRefused.code, 1);
    assert.match(flagRefused.stderr, /^corral: API key 'viewer' lacks the 'admin' scope this route needs\. Sent the key from --api-key; /);
    // The option works after the subcommand too.
    assert.equal((await withEnvKey(viewer.key!, ['keys', 'ls', '--api-key', ops.key!])).code, 0);

    // Who made it, per the audit log: ops, not viewer and not admin.
    const entries = JSON.parse(ok(await asAdmin(['--json', 'audit', '--action', 'key.create', '--key', 'ops']))) as AuditJson[];
    assert.deepEqual(entries.map((e) => [e.key_name, e.target]), [['ops', madeId]]);

    // admin.key when nothing else is given; nothing at all without it.
    assert.equal((await asAdmin(['keys', 'ls'])).code, 0);
    const none = await runCli(server.url, ['ls'], { CORRAL_HOME: emptyHome, CORRAL_API_KEY: '' });
    assert.equal(none.code, 1);
    assert.equal(none.stderr, "corral: This route needs an API key with the 'read' scope: send Authorization: Bearer <key> (or X-API-Key, or HTTP Basic with the key as password). "
      + `Sent no API key (no --api-key, no CORRAL_API_KEY, and ${join(emptyHome, 'admin.key')} is not readable); pass --api-key <key> or set CORRAL_API_KEY (an admin makes keys with 'corral keys create').\n`);
  });

  test('a revoked key gets a clear one-line error', async () => {
    const temp = await created(['temp', '--scopes', 'read']);
    assert.equal((await withEnvKey(temp.key!, ['ls'])).code, 0);
    const revoked = JSON.parse(ok(await asAdmin(['--json', 'keys', 'revoke', temp.id]))) as KeyJson;
    const refused = await withEnvKey(temp.key!, ['ls']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `corral: API key 'temp' was revoked at ${revoked.revoked_at}. Sent the key from CORRAL_API_KEY; pass a valid key with --api-key or set CORRAL_API_KEY.\n`);
    const wrong = await runCli(server.url, ['--api-key', 'not-a-key-at-all', 'ls'], { CORRAL_HOME: server.home });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, 'corral: The API key is not valid. Sent the key from --api-key; pass a valid key with --api-key or set CORRAL_API_KEY.\n');
  });

  test('corral audit shows key.create and key.revoke with the key that did them', async () => {
    const gone = await created(['audited', '--scopes', 'infer']);
    ok(await asAdmin(['keys', 'revoke', 'audited']));
    const table = ok(await asAdmin(['audit', '--limit', '2']));
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+ACTION\s+KEY\s+IP\s+TARGET\s+DETAIL$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+key\\.revoke\\s+admin\\s+127\\.0\\.0\\.1\\s+${gone.id}\\s+name=audited$`));
    assert.match(lines[2]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+key\\.create\\s+admin\\s+127\\.0\\.0\\.1\\s+${gone.id}\\s+name=audited scopes=infer imported=false$`));
    const revokes = JSON.parse(ok(await asAdmin(['--json', 'audit', '--action', 'key.revoke']))) as AuditJson[];
    assert.equal(revokes[0]!.target, gone.id);
    assert.deepEqual(revokes[0]!.detail, { name: 'audited' });
    assert.ok(revokes.every((e) => e.action === 'key.revoke'));
    const bad = await asAdmin(['audit', '--limit', '0']);
    assert.equal(bad.code, 2);
  });

  test('keys --help and audit --help', async () => {
    for (const args of [['keys', '--help'], ['keys', 'create', '--help'], ['keys', 'update', '--help'], ['audit', '--help']]) {
      const res = await asAdmin(args);
      assert.equal(res.code, 0, args.join(' '));
      assert.match(res.stdout, /Usage: corral/);
    }
  });
});

describe('CLI key parsing', () => {
  test('resolveCredential: --api-key, then CORRAL_API_KEY, then CORRAL_HOME/admin.key', () => {
    const home = mkdtempSync(join(tmpdir(), 'corral-cred-'));
    try {
      assert.deepEqual(resolveCredential(undefined, { CORRAL_HOME: home }), { source: { kind: 'none', path: join(home, 'admin.key') } });
      assert.deepEqual(resolveCredential(undefined, { CORRAL_HOME: server.home, CORRAL_API_KEY: ' env-key ' }), { key: 'env-key', source: { kind: 'env' } });
      assert.deepEqual(resolveCredential('flag-key', { CORRAL_HOME: server.home, CORRAL_API_KEY: 'env-key' }), { key: 'flag-key', source: { kind: 'flag' } });
      assert.deepEqual(resolveCredential(undefined, { CORRAL_HOME: server.home, CORRAL_API_KEY: '' }), { key: server.adminKey, source: { kind: 'file', path: join(server.home, 'admin.key') } });
      // The local admin key never goes to a gateway on another machine.
      assert.deepEqual(resolveCredential(undefined, { CORRAL_HOME: server.home }, 'http://gpu-box.example:8000'), { source: { kind: 'none', path: join(server.home, 'admin.key'), remote: true } });
      assert.equal(resolveCredential(undefined, { CORRAL_HOME: server.home }, 'http://localhost:8000').key, server.adminKey);
      assert.throws(() => resolveCredential('  ', {}), (err: unknown) => err instanceof ExitError && err.exitCode === 2);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('auth errors name the key source', () => {
    assert.equal(authErrorMessage(401, 'The API key is not valid.', { kind: 'file', path: '/h/admin.key' }),
      'The API key is not valid. Sent the admin key from /h/admin.key; pass a valid key with --api-key or set CORRAL_API_KEY.');
  });

  test('--expires, --models, --scopes and the LIMITS cell', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    assert.equal(parseExpiry('30d', now), '2026-03-31T00:00:00.000Z');
    assert.equal(parseExpiry('12h', now), '2026-03-01T12:00:00.000Z');
    assert.equal(parseExpiry('2w', now), '2026-03-15T00:00:00.000Z');
    assert.equal(parseExpiry('2027-01-31', now), '2027-01-31T00:00:00.000Z');
    assert.equal(parseExpiry('2027-01-31T12:30:00+02:00', now), '2027-01-31T10:30:00.000Z');
    assert.equal(parseExpiry('never', now), null);
    assert.throws(() => parseExpiry('30x', now), /--expires '30x' is neither/);
    assert.deepEqual(parseModelList('iris*, embed'), ['iris*', 'embed']);
    assert.equal(parseModelList('all'), null);
    assert.deepEqual(parseScopeList('read, infer,'), ['read', 'infer']);
    assert.throws(() => parseScopeList(' , '), /--scopes needs at least one scope/);
    assert.equal(describeLimits(null), 'none');
    assert.equal(describeLimits({ requests_per_minute: 60, burst: 60 }), '60/min');
    assert.equal(describeLimits({ requests_per_minute: 60, burst: 10, concurrency: 2 }), '60/min, burst 10, 2 at once');
  });
});
