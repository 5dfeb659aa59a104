/**
 * A gateway on a laptop reaches its cluster over SSH: here a real sshd on
 * 127.0.0.2 in front of the real single-node Slurm cluster.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launcherFactory, runnerFor } from '../../src/launchers/launcher-for-profile.js';
import type { Profile } from '../../src/profiles/index.js';
import { newServiceToken } from '../../src/services/service-token.js';
import { writeHfCacheSnapshot, writeTinyBert } from '../fixtures/transformers/index.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

let sshd: TestSshd;
let server: TestServer;
let profile: Profile;

before(async () => {
  execFileSync('bash', ['scripts/slurm/setup-local-cluster.sh'], { stdio: 'inherit', timeout: 300_000 });
  sshd = await startSshd();
  process.env.CORRAL_SSH_KNOWN_HOSTS = sshd.knownHosts;
  server = await startTestServer({ workers: 1 });
  profile = {
    name: 'remote', type: 'slurm', host: sshd.host, user: 'root', port: sshd.port, identityFile: sshd.identityFile,
    homeDir: join(server.home, 'remote-home'), cacheDir: join(server.home, 'remote-cache'), partition: 'debug', timeLimit: '5', memory: '1G', cpus: 1,
  };
});

after(async () => {
  await server?.close();
  sshd?.stop();
  delete process.env.CORRAL_SSH_KNOWN_HOSTS;
});

test('the SSH runner runs commands on the login node with the profile key, and quoting survives', async () => {
  const runner = runnerFor(profile);
  assert.equal(runner.remote, true);
  const result = await runner.run(['printf', '%s|', 'two words', "it's", '$HOME']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "two words|it's|$HOME|");
});

test('a Slurm job is submitted, seen running and cancelled over SSH', async () => {
  const launcher = launcherFactory()(profile);
  const { jobId } = await launcher.launch({ serviceId: 'ssh-sleep', serviceName: 'ssh-sleep', command: ['sleep', '120'], env: {} });
  assert.match(jobId, /^\d+$/);
  const deadline = Date.now() + 60_000;
  let state = (await launcher.status(jobId)).state;
  while (state !== 'STARTING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    state = (await launcher.status(jobId)).state;
  }
  assert.equal(state, 'STARTING');
  await launcher.stop(jobId);
  let report = await launcher.status(jobId);
  while (report.state === 'STARTING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    report = await launcher.status(jobId);
  }
  assert.equal(report.state, 'STOPPED');
});

test('over SSH, a batch script carrying a token is written 0600 (replacing an old readable one); the token reaches the job on no command line', async () => {
  const launcher = launcherFactory()(profile);
  const token = newServiceToken();
  const dir = join(profile.homeDir!, 'corral-jobs');
  const script = join(dir, 'ssh-token.sbatch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(script, 'an old script\n', { mode: 0o644 });
  chmodSync(script, 0o644);
  // The job proves it got the token by logging its SHA-256, then stays up to be looked at.
  const { jobId } = await launcher.launch({
    serviceId: 'ssh-token', serviceName: 'ssh-token', env: { CORRAL_SERVICE_TOKEN: token },
    command: ['sh', '-c', 'printf %s "$CORRAL_SERVICE_TOKEN" | sha256sum; sleep 120'],
  });
  assert.equal(statSync(script).mode & 0o777, 0o600);
  assert.match(readFileSync(script, 'utf8'), new RegExp(`^export CORRAL_SERVICE_TOKEN=${token}$`, 'm'));
  const log = join(dir, 'ssh-token.log');
  const digest = createHash('sha256').update(token).digest('hex');
  const deadline = Date.now() + 60_000;
  let logged = '';
  while (!logged.includes(digest) && Date.now() < deadline) {
    assert.equal(execFileSync('ps', ['-e', '-ww', '-o', 'args']).toString().includes(token), false, 'the token is on a command line');
    await new Promise((r) => setTimeout(r, 250));
    try { logged = readFileSync(log, 'utf8'); } catch { /* not yet written */ }
  }
  assert.equal(logged.includes(digest), true, `the job saw the token: ${logged}`);
  assert.equal(logged.includes(token), false, 'the log does not print it');
  assert.equal(execFileSync('ps', ['-e', '-ww', '-o', 'args']).toString().includes(token), false, 'the token is on a command line');
  await launcher.stop(jobId);
});

test('the model registry scans a remote cache_dir over SSH', async () => {
  const bert = join(server.home, 'bert');
  await writeTinyBert(bert, { task: 'feature-extraction' });
  await writeHfCacheSnapshot(profile.cacheDir!, 'tiny-org/tiny-bert', 'abc123', bert);
  const created = await postJson(`${server.url}/api/profiles`, {
    name: 'remote', type: 'slurm', host: profile.host, user: 'root', port: profile.port, identity_file: profile.identityFile,
    home_dir: profile.homeDir, cache_dir: profile.cacheDir,
  });
  assert.equal(created.status, 201, await created.clone().text());
  const models = await (await fetch(`${server.url}/models?profile=remote&refresh=true`)).json() as Array<{ model: string; revision: string; source: string; size_bytes: number; task: string | null }>;
  const found = models.find((m) => m.model === 'tiny-org/tiny-bert');
  assert.ok(found, JSON.stringify(models));
  assert.equal(found.revision, 'abc123');
  assert.equal(found.source, 'cache');
  // Read over SSH from its config.json (BertModel): the bare encoder, for embeddings.
  assert.equal(found.task, 'feature-extraction');
  // du's apparent size counts the directories too, whose size depends on the filesystem.
  assert.ok(found.size_bytes > 1000);
});

test('a wrong key is refused without any password prompt, as a clear error', async () => {
  const runner = runnerFor({ ...profile, identityFile: join(server.home, 'no-such-key') });
  const result = await runner.run(['true'], { timeoutMs: 20_000 });
  assert.equal(result.code, 255, 'ssh exits 255 when it cannot connect');
  assert.match(result.stderr, /Permission denied|no such identity/i);
});
