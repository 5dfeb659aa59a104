/**
 * The per-service launch token, on the real single-node Slurm cluster
 * (scripts/slurm/setup-local-cluster.sh): the job gets it through its 0600
 * batch script and environment, never a command line; register needs it; the
 * job's `corral host` answers everything but health only to the credential
 * derived from it, which the gateway presents.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkHostEndpoint } from '../../src/services/host-endpoint.js';
import { hostCredentialOf, newServiceToken, tokenHashOf } from '../../src/services/service-token.js';
import { runCli } from '../helpers/run-cli.js';
import { createHpcProfile, startSlurmGateway, stopSlurmGateway } from '../helpers/slurm-gateway.js';
import { postJson, type TestServer } from '../helpers/test-server.js';

interface ServiceView { id: string; name: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null }

let server: TestServer;
let homeDir: string;
let bert: string;

const get = async (name: string) => (await (await fetch(`${server.url}/api/services/${name}`)).json()) as ServiceView;

/** Every process's full command line (`ps -e -ww -o args`: all processes, no truncation). */
const allCommandLines = () => execFileSync('ps', ['-e', '-ww', '-o', 'args']).toString();

/** Polls a service until its status is one of `states`; before each look, checks that no command line holds `secret`. */
async function waitFor(name: string, states: string[], timeoutMs: number, secret: string): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = allCommandLines();
    assert.equal(lines.includes(secret), false, 'the token is on a command line');
    assert.equal(lines.includes(hostCredentialOf(secret)), false, 'the host credential is on a command line');
    const s = await get(name);
    if (states.includes(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`${name} stayed ${s.status} (${s.reason ?? ''}); wanted ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const jobFile = (id: string, ext: 'sbatch' | 'log') => join(homeDir, 'corral-jobs', `${id}.${ext}`);

/** The plaintext token, read from the job's batch script (as root: it is 0600). */
function tokenIn(script: string): string {
  const match = /^export CORRAL_SERVICE_TOKEN=([A-Za-z0-9_-]+)$/m.exec(script);
  assert.ok(match, script);
  return match[1]!;
}

const register = (id: string, body: unknown, token?: string) => fetch(`${server.url}/api/services/${id}/register`, {
  method: 'POST', body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
});

/** Processes (pid, parent pid, command line, environment) as /proc has them; ones that vanish while read are left out. */
function processes(): Array<{ pid: number; ppid: number; args: string; environ: string }> {
  const list = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      list.push({ pid: Number(entry), ppid, args, environ });
    } catch { /* ended meanwhile */ }
  }
  return list;
}

before(async () => {
  const gateway = await startSlurmGateway();
  ({ server, bert, homeDir } = gateway);
  await createHpcProfile(gateway);
});

after(async () => {
  await stopSlurmGateway(server, ['tok-bert']);
  delete process.env.CORRAL_SERVICE_HOST_ADDRESS;
});

describe('the launch token', () => {
  test('tokens are 256 random bits; the gateway keeps a hash and a derived host credential, neither of them the token', () => {
    const token = newServiceToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newServiceToken(), token);
    assert.match(tokenHashOf(token), /^[0-9a-f]{64}$/);
    assert.match(hostCredentialOf(token), /^[0-9a-f]{64}$/);
    assert.equal(hostCredentialOf(token), hostCredentialOf(token));
    assert.notEqual(hostCredentialOf(token), tokenHashOf(token));
    assert.notEqual(hostCredentialOf(token), hostCredentialOf(newServiceToken()));
  });

  test('registered endpoints: http(s) with loopback, private or named hosts pass; link-local, unspecified, metadata and credentials do not', () => {
    for (const ok of ['http://127.0.0.5:4000', 'http://10.1.2.3:80', 'https://node12.cluster:443', 'http://[::1]:9000', 'http://192.168.0.7:1']) {
      assert.doesNotThrow(() => checkHostEndpoint(ok), ok);
    }
    assert.equal(checkHostEndpoint('http://node12:8123/'), 'http://node12:8123');
    const bad: Array<[string, RegExp]> = [
      ['http://169.254.169.254', /link-local/],
      ['http://169.254.1.2:8000', /link-local/],
      ['http://2852039166/', /link-local/], // 169.254.169.254 as one number
      ['http://[::ffff:169.254.169.254]/', /link-local/],
      ['http://[fe80::1]:8000', /link-local/],
      ['http://0.0.0.0:8000', /unspecified/],
      ['http://[::]:8000', /unspecified/],
      ['http://metadata.google.internal', /metadata/],
      ['http://METADATA.google.internal.:80', /metadata/],
      ['http://user:secret@127.0.0.1:8000', /user name or password/],
      ['ftp://127.0.0.1', /http/],
      ['file:///etc/passwd', /http/],
      ['http://127.0.0.1:8000/elsewhere', /no path/],
      ['not a url', /not a URL/],
    ];
    for (const [endpoint, why] of bad) {
      assert.throws(() => checkHostEndpoint(endpoint), (err: { code: string; status: number; message: string }) => {
        assert.equal(err.code, 'BAD_REQUEST', endpoint);
        assert.equal(err.status, 400, endpoint);
        assert.match(err.message, why, endpoint);
        assert.equal(err.message.includes('secret'), false, 'a password is not echoed');
        return true;
      });
    }
  });

  test('`corral host` without CORRAL_SERVICE_TOKEN refuses to start, saying why', async () => {
    const result = await runCli('http://127.0.0.1:9', ['host', '--spec', 'e30', '--gateway', 'http://127.0.0.1:9'], { CORRAL_SERVICE_TOKEN: '' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /CORRAL_SERVICE_TOKEN is not set/);
  });
});

describe('a service on a Slurm profile, launched with its token', () => {
  let service: ServiceView;
  let token: string;
  let running: ServiceView;

  test('the token is only in the 0600 batch script; the service reaches RUNNING with no command line ever holding it', async () => {
    const res = await postJson(`${server.url}/api/services?wait=true`, { name: 'tok-bert', task: 'feature-extraction', runtime: 'transformers', model: bert, profile: 'hpc' });
    assert.equal(res.status, 201, await res.clone().text());
    service = (await res.json()) as ServiceView;
    assert.equal(service.status, 'SUBMITTED', service.reason ?? '');
    assert.match(service.job_id ?? '', /^\d+$/);

    const scriptPath = jobFile(service.id, 'sbatch');
    assert.equal(statSync(scriptPath).mode & 0o777, 0o600);
    const script = readFileSync(scriptPath, 'utf8');
    token = tokenIn(script);
    assert.equal(script.split(token).length, 2, 'the token appears once, in its export line');
    assert.equal(script.split('\n').find((l) => l.startsWith('exec '))!.includes(token), false);
    assert.equal(allCommandLines().includes(token), false);

    running = await waitFor('tok-bert', ['RUNNING', 'FAILED'], 180_000, token);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    assert.match(running.endpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(execFileSync('squeue', ['-h', '-j', service.job_id!, '-o', '%T']).toString().trim(), 'RUNNING');
  });

  test('it answers through the gateway, directly and proxied (the gateway presents the host credential)', async () => {
    const embedded = await postJson(`${server.url}/embed`, { sentences: ['The sun rises in the east.'], model: 'tok-bert' });
    assert.equal(embedded.status, 200, await embedded.clone().text());
    const { embeddings } = (await embedded.json()) as { embeddings: number[][] };
    assert.equal(embeddings.length, 1);
    assert.ok(embeddings[0]!.length > 0);
    const proxied = await postJson(`${server.url}/services/tok-bert/embed`, { sentences: ['a', 'b'] });
    assert.equal(proxied.status, 200, await proxied.clone().text());
    assert.equal(((await proxied.json()) as { embeddings: number[][] }).embeddings.length, 2);
    assert.equal(allCommandLines().includes(token), false);
  });

  test('the host dropped the token from its environment: its worker processes do not inherit it', () => {
    const all = processes();
    const jobHome = `CORRAL_HOME=${join(homeDir, 'jobs', service.id)}\0`;
    const hosts = all.filter((p) => p.args.includes(' host --spec ') && p.environ.includes(jobHome));
    assert.equal(hosts.length, 1, 'one corral host process for the job');
    const host = hosts[0]!;
    const workers = all.filter((p) => p.ppid === host.pid && p.args.includes('worker-main'));
    assert.equal(workers.length, 1, 'the host runs its worker process (cpus = 1)');
    for (const worker of workers) assert.equal(worker.environ.includes(token), false, `worker ${worker.pid} has the token`);
    // Still holding it: the host's own start-up environment (the kernel keeps it as it was at exec), and
    // tsx's esbuild helper when the loader started one before `corral host` ran (same user, same exposure).
    const holders = all.filter((p) => p.environ.includes(token));
    assert.deepEqual(holders.filter((p) => p.pid !== host.pid && !(p.ppid === host.pid && p.args.includes('/esbuild --service'))).map((p) => p.args), []);
  });

  test('register: 401 without the token, 401 with a wrong one or with the host credential; 400 for a link-local endpoint, which is not recorded', async () => {
    const endpoint = { endpoint: 'http://127.0.0.1:1' };
    const none = await register(service.id, endpoint);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate')?.startsWith('Bearer'), true);
    assert.equal((await register(service.id, endpoint, newServiceToken())).status, 401);
    assert.equal((await register(service.id, endpoint, hostCredentialOf(token))).status, 401);
    assert.equal((await register(service.name, endpoint, 'x')).status, 401);
    // An error report without the token cannot fail the service either.
    assert.equal((await register(service.id, { error: 'forged' })).status, 401);

    for (const bad of ['http://169.254.169.254', 'http://169.254.169.254:80/latest/meta-data', 'http://[fe80::1]:8000', 'http://0.0.0.0:8000', 'http://metadata.google.internal', 'http://user:pw@127.0.0.1:8000']) {
      const res = await register(service.id, { endpoint: bad }, token);
      assert.equal(res.status, 400, `${bad}: ${await res.clone().text()}`);
      assert.equal(((await res.json()) as { code: string }).code, 'BAD_REQUEST');
    }
    const after = await get(service.id);
    assert.equal(after.status, 'RUNNING');
    assert.equal(after.endpoint, running.endpoint);
  });

  test('the host answers health to anyone and every other route, / and /help included, only to the host credential (401 without it, or with the token)', async () => {
    const host = running.endpoint!;
    for (const path of ['/v2/health/live', '/v2/health/ready']) {
      assert.equal((await fetch(`${host}${path}`)).status, 200, path);
    }
    // The host is the same gateway code: its routes are this gateway's; only health is open ('/' and '/help' too are guarded).
    const guarded = server.app.routeTable.filter((r) => !r.url.startsWith('/v2/health/'));
    assert.ok(guarded.some((r) => r.url === '/help'));
    assert.ok(guarded.length > 50, `${guarded.length} routes`);
    for (const route of guarded) {
      const url = `${host}${route.url.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x')}`;
      const without = await fetch(url, { method: route.method });
      assert.equal(without.status, 401, `${route.method} ${route.url}`);
      const wrong = await fetch(url, { method: route.method, headers: { authorization: `Bearer ${token}` } });
      assert.equal(wrong.status, 401, `${route.method} ${route.url} with the token`);
    }
    const credential = { authorization: `Bearer ${hostCredentialOf(token)}` };
    const listed = await fetch(`${host}/api/services`, { headers: credential });
    assert.equal(listed.status, 200);
    assert.deepEqual(((await listed.json()) as ServiceView[]).filter((s) => s.name === 'tok-bert').map((s) => s.status), ['RUNNING']);
    assert.equal((await fetch(`${host}/metrics`, { headers: credential })).status, 200);
  });

  test('stopped, the service forgets its token; started again, it gets a fresh one in a fresh 0600 script', async () => {
    assert.equal((await fetch(`${server.url}/api/services/tok-bert/stop`, { method: 'POST' })).status, 200);
    const stopped = await waitFor('tok-bert', ['STOPPED'], 60_000, token);
    assert.equal(stopped.endpoint, null);
    assert.equal((await register(service.id, { endpoint: 'http://127.0.0.1:1' }, token)).status, 401);
    const log = readFileSync(jobFile(service.id, 'log'), 'utf8');
    assert.ok(log.length > 0, 'the job wrote a log');
    assert.equal(log.includes(token), false, 'the job log does not print the token');

    // An old script left world-readable is replaced, not rewritten in place with its old mode.
    chmodSync(jobFile(service.id, 'sbatch'), 0o644);
    const res = await fetch(`${server.url}/api/services/tok-bert/start?wait=true`, { method: 'POST' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as ServiceView).status, 'SUBMITTED');
    assert.equal(statSync(jobFile(service.id, 'sbatch')).mode & 0o777, 0o600);
    const fresh = tokenIn(readFileSync(jobFile(service.id, 'sbatch'), 'utf8'));
    assert.notEqual(fresh, token);
    assert.equal((await register(service.id, { endpoint: 'http://127.0.0.1:1' }, token)).status, 401, 'the old token is dead');
    assert.equal((await register(service.id, { endpoint: 'http://169.254.169.254' }, fresh)).status, 400, 'the new one is accepted (and its endpoint checked)');

    const again = await waitFor('tok-bert', ['RUNNING', 'FAILED'], 180_000, fresh);
    assert.equal(again.status, 'RUNNING', again.reason ?? '');
    const embedded = await postJson(`${server.url}/embed`, { sentences: ['again'], model: 'tok-bert' });
    assert.equal(embedded.status, 200, await embedded.clone().text());
    assert.equal((await fetch(`${server.url}/api/services/tok-bert/stop`, { method: 'POST' })).status, 200);
    await waitFor('tok-bert', ['STOPPED'], 60_000, fresh);
    assert.equal(existsSync(jobFile(service.id, 'log')), true);
    assert.equal(readFileSync(jobFile(service.id, 'log'), 'utf8').includes(fresh), false);
  });
});
