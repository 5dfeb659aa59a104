/**
 * Training on a Slurm profile, on the real single-node test cluster
 * (scripts/slurm/setup-local-cluster.sh): the files are staged in the
 * profile's home_dir, the batch job runs Debian's Python, uploads its model
 * back with its own token, and the gateway registers it; logs, failures,
 * cancel, a wrong token, and a gateway restart while a job runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/gateway/index.js';
import { LocalCommandRunner } from '../../src/launchers/command-runner.js';
import type { Profile } from '../../src/profiles/index.js';
import { SlurmTrainer } from '../../src/training/slurm-trainer.js';
import { waitFor } from '../helpers/scale-out.js';
import { fixture, getJob, jobLog, printedPredictions, PYTHON, readToEnd, readUntil, submit, waitForJob, WHEELS } from './training-helpers.js';

const JOB_NAMES = ['corral-train-iris-ssh', 'corral-train-with-reqs', 'corral-train-iris-slurm', 'corral-train-broken', 'corral-train-sleepy', 'corral-train-waiting', 'corral-train-restart'];

let home: string;
let homeDir: string;
let port: number;
let gateway: RunningServer;
/** An sshd on 127.0.0.2 (this machine, reached as another host): the `hpc-ssh` profile's login node. */
let ssh: { dir: string; port: number; identityFile: string } | undefined;

/** A gateway on `home` and `port`: the same for the one started after a restart. */
async function openGateway(): Promise<RunningServer> {
  const config = loadConfig(
    // A 1 MB upload limit: the models here are a few KB, and an upload past it is refused.
    { CORRAL_HOME: home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_AUTH: 'off', CORRAL_MAX_UPLOAD_MB: '1' },
    { host: '127.0.0.1', port, workers: 1, threadsPerWorker: 1 },
  );
  return startServer(config);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: found } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return found;
}

async function startSshd(dir: string): Promise<{ dir: string; port: number; identityFile: string }> {
  mkdirSync(dir, { recursive: true });
  const identityFile = join(dir, 'client_key');
  for (const key of ['host_key', 'client_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`));
  mkdirSync('/run/sshd', { recursive: true });
  const sshPort = await freePort();
  execFileSync('/usr/sbin/sshd', ['-f', '/dev/null', '-p', String(sshPort), '-o', 'ListenAddress=127.0.0.2', '-o', `HostKey=${join(dir, 'host_key')}`,
    '-o', `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`, '-o', `PidFile=${join(dir, 'sshd.pid')}`, '-E', join(dir, 'sshd.log'),
    '-o', 'StrictModes=no', '-o', 'UsePAM=no', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-o', 'PermitRootLogin=prohibit-password']);
  return { dir, port: sshPort, identityFile };
}

const stageDir = (id: string) => join(homeDir, 'corral-training', id);
const squeueState = (jobId: string) => execFileSync('squeue', ['-h', '-j', jobId, '-o', '%T']).toString().trim();

before(async () => {
  execFileSync('bash', ['scripts/slurm/setup-local-cluster.sh'], { stdio: 'inherit', timeout: 300_000 });
  // Read when the gateway starts; the batch jobs run on this machine and reach the gateway on loopback.
  Object.assign(process.env, {
    CORRAL_SERVICE_HOST_ADDRESS: '127.0.0.1', CORRAL_TRAIN_PYTHON: PYTHON, CORRAL_TRAIN_PIP_ARGS: `--no-index --find-links ${WHEELS}`,
    CORRAL_TRAIN_KILL_GRACE_MS: '1000', CORRAL_TRAIN_POLL_MS: '300',
  });
  home = mkdtempSync(join(tmpdir(), 'corral-train-slurm-'));
  homeDir = join(home, 'alice');
  mkdirSync(homeDir, { recursive: true });
  port = await freePort();
  ssh = await startSshd(join(home, 'ssh'));
  process.env.CORRAL_SSH_KNOWN_HOSTS = join(ssh.dir, 'known_hosts');
  gateway = await openGateway();
  const res = await fetch(`${gateway.url}/api/profiles`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hpc', type: 'slurm', host: 'localhost', home_dir: homeDir, partition: 'debug' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
});

after(async () => {
  // One name per scancel: a second --name replaces the first.
  for (const name of JOB_NAMES) {
    try {
      execFileSync('scancel', ['--name', name]);
    } catch { /* nothing left */ }
  }
  await gateway?.close();
  if (ssh) try { process.kill(Number(readFileSync(join(ssh.dir, 'sshd.pid'), 'utf8'))); } catch { /* gone */ }
  rmSync(home, { recursive: true, force: true });
});

const onSlurm = (fields: Record<string, string> = {}) => ({ profile: 'hpc', ...fields });

test('the batch script: --gres from gpus, thread counts from cpus, the venv only with requirements', () => {
  const profile = { name: 'gpu', type: 'slurm', host: 'localhost', homeDir: '/home/alice', partition: 'gpu' } as Profile;
  const trainer = new SlurmTrainer(profile, new LocalCommandRunner(), { python: 'python3', pipArgs: [], pollMs: 1000 });
  const id = '12345678-1234-1234-1234-123456789abc';
  const script = trainer.renderScript({
    id, tag: 'big', outputFile: 'big.onnx', options: { timeout_minutes: 90.5, memory: '16G', cpus: 8, gpus: 2 }, memoryBytes: 16 * 1024 ** 3,
    files: { dir: '/x', script: '/x/script.py', requirements: null, dataset: null, outputDir: '/x/output', log: '/x/train.log' },
    output: () => undefined, note: () => undefined, enter: async () => undefined, checkpoint: async () => undefined, gatewayUrl: () => 'http://gw:8000',
  }, 'secret-token');
  for (const line of ['--job-name=corral-train-big', '--partition=gpu', '--time=91', '--mem=16384M', '--cpus-per-task=8', '--gres=gpu:2', `--output=/home/alice/corral-training/${id}/train.log`]) {
    assert.match(script, new RegExp(`^#SBATCH ${line}$`, 'm'));
  }
  assert.match(script, /^export OMP_NUM_THREADS=8$/m);
  assert.match(script, new RegExp(`^upload_url=http://gw:8000/api/v1/train/jobs/${id}/output$`, 'm'));
  assert.match(script, /^token=secret-token$/m);
  assert.doesNotMatch(script, /venv/);
  assert.doesNotMatch(script, /curl[^\n]*\$token/, 'curl reads the token on its stdin');
});

describe('training on a Slurm profile', () => {
  test('scikit-learn on Slurm: staged in home_dir, sbatch options, registered as version 1, predictions over HTTP match the script', async () => {
    const id = await submit(gateway.url, '/api/v1/train/iris-slurm/iris.onnx', {
      script: fixture('train_sklearn.py'), dataset: fixture('iris.csv'), fields: onSlurm({ timeout_minutes: '5', memory: '1G', cpus: '1' }),
    });
    const job = await waitForJob(gateway.url, id, undefined, 120_000);
    assert.equal(job.state, 'registered', job.error ?? '');
    assert.equal(job.profile, 'hpc');
    assert.equal(job.model_version, 1);
    assert.equal(job.exit_code, 0);

    // The files were staged in home_dir; the batch script is private and carries what was asked for.
    const stage = stageDir(id);
    assert.deepEqual(readdirSync(stage).sort(), ['dataset.csv', 'job.sbatch', 'output', 'script.py', 'train.log']);
    assert.equal(statSync(join(stage, 'job.sbatch')).mode & 0o777, 0o600);
    const script = readFileSync(join(stage, 'job.sbatch'), 'utf8');
    for (const line of ['--job-name=corral-train-iris-slurm', '--partition=debug', '--time=5', '--mem=1024M', '--cpus-per-task=1', `--output=${stage}/train.log`]) {
      assert.match(script, new RegExp(`^#SBATCH ${line}$`, 'm'));
    }
    assert.doesNotMatch(script, /--gres/);
    assert.doesNotMatch(script, /^export .*token/im, 'the token is not exported to the script');

    const log = await jobLog(gateway.url, id);
    assert.match(log, /\[corral\] submitted Slurm job \d+ \(partition debug\)/);
    assert.match(log, /\[corral\] state: running\n/);
    assert.match(log, /trained on 90 rows/);
    assert.match(log, /\[corral\] received iris\.onnx from the Slurm job/);
    assert.match(log, /\[corral\] state: registered \(version 1\)\n$/);
    assert.doesNotMatch(log, /##corral-job##/, 'the batch script\'s markers stay out of the log');
    const printed = printedPredictions(log);
    const res = await fetch(`${gateway.url}/v2/models/iris-slurm/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [printed.rows.length, 4], datatype: 'FP32', data: printed.rows.flat() }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json() as { outputs: Array<{ name: string; data: number[] }> };
    assert.deepEqual(body.outputs.find((o) => o.name === 'label')!.data, printed.labels);

    // The job's own token: refused once the job has ended (409), and on another job's id (401).
    const token = /^token='?([A-Za-z0-9_-]+)'?$/m.exec(script)![1]!;
    const put = (jobId: string) => fetch(`${gateway.url}/api/v1/train/jobs/${jobId}/output`, {
      method: 'PUT', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` }, body: Buffer.from('late'),
    });
    const late = await put(id);
    assert.equal(late.status, 409);
    assert.match(((await late.json()) as { error: string }).error, /is registered; its output is taken only while its Slurm job runs/);
    assert.equal((await put('00000000-0000-0000-0000-000000000000')).status, 401);
    assert.equal((await getJob(gateway.url, id)).model_version, 1);
  });

  test('requirements: a virtual environment made by the batch job from the wheel mirror; no output is failed, naming what the script left', async () => {
    const id = await submit(gateway.url, '/api/v1/train/with-reqs/m.onnx', {
      script: fixture('train_requirements.py'), requirements: fixture('requirements-tabulate.txt'), fields: onSlurm(),
    });
    const job = await waitForJob(gateway.url, id, undefined, 120_000);
    assert.equal(job.state, 'registered', job.error ?? '');
    const log = await jobLog(gateway.url, id);
    assert.match(log, /\[corral\] state: installing\n[^]*\[corral\] making a virtual environment: \/usr\/bin\/python3 -m venv --system-site-packages\n/);
    assert.match(log, /Successfully installed tabulate-0\.10\.0/);
    assert.match(log, /\[corral\] state: running\n[^]*tabulate 0\.10\.0 from a virtual environment\n/);
    assert.ok(existsSync(join(homeDir, 'corral-training', 'venvs')), 'the environment is on the cluster side, in home_dir');

    const none = await waitForJob(gateway.url, await submit(gateway.url, '/api/v1/train/with-reqs/m.onnx', { script: fixture('train_no_output.py'), fields: onSlurm() }), undefined, 120_000);
    assert.equal(none.state, 'failed');
    assert.equal(none.error, 'the script ended without writing m.onnx in CORRAL_OUTPUT_DIR (it holds no files)');
  });

  test('timeout_minutes: the job is stopped (scancel) and ends timeout', async () => {
    const id = await submit(gateway.url, '/api/v1/train/sleepy/m.onnx', { script: fixture('train_sleeper.py'), fields: onSlurm({ timeout_minutes: '0.1' }) });
    const job = await waitForJob(gateway.url, id, undefined, 120_000);
    assert.equal(job.state, 'timeout', job.error ?? '');
    assert.equal(job.error, 'timed out after 0.1 minutes (timeout_minutes)');
    const slurmJob = /\[corral\] submitted Slurm job (\d+) /.exec(await jobLog(gateway.url, id))![1]!;
    assert.ok(['', 'CANCELLED'].includes(squeueState(slurmJob)), `the Slurm job is gone: ${squeueState(slurmJob)}`);
  });

  test('over SSH: the files are sent on ssh\'s stdin to the login node, and the job registers', async () => {
    const sshHome = join(home, 'bob');
    mkdirSync(sshHome, { recursive: true });
    const created = await fetch(`${gateway.url}/api/profiles`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hpc-ssh', type: 'slurm', host: '127.0.0.2', port: ssh!.port, user: 'root', identity_file: ssh!.identityFile, home_dir: sshHome, partition: 'debug' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const id = await submit(gateway.url, '/api/v1/train/iris-ssh/iris.onnx', { script: fixture('train_sklearn.py'), dataset: fixture('iris.csv'), fields: { profile: 'hpc-ssh' } });
    const job = await waitForJob(gateway.url, id, undefined, 120_000);
    assert.equal(job.state, 'registered', job.error ?? '');
    const stage = join(sshHome, 'corral-training', id);
    assert.deepEqual(readFileSync(join(stage, 'dataset.csv')), readFileSync(fixture('iris.csv')));
    assert.deepEqual(readFileSync(join(stage, 'script.py')), readFileSync(fixture('train_sklearn.py')));
    assert.equal(statSync(join(stage, 'job.sbatch')).mode & 0o777, 0o600);
    assert.match(await jobLog(gateway.url, id), /on root@127\.0\.0\.2\n[^]*trained on 90 rows/);
  });

  test('a script that raises: failed, its exit code, and its traceback in error', async () => {
    const job = await waitForJob(gateway.url, await submit(gateway.url, '/api/v1/train/broken/broken.onnx', { script: fixture('train_raises.py'), fields: onSlurm() }), undefined, 120_000);
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, 1);
    assert.match(job.error!, /^the script exited with code 1; the end of its log:\n/);
    assert.match(job.error!, /Traceback \(most recent call last\):/);
    assert.match(job.error!, /ValueError: learning rate -1 is out of range$/);
    assert.equal(job.model_version, null);
  });

  test('a wrong upload token is refused and leaves nothing; cancel scancels the job', async () => {
    const id = await submit(gateway.url, '/api/v1/train/sleepy/m.onnx', { script: fixture('train_sleeper.py'), fields: onSlurm() });
    await waitFor('the sleeper to start on Slurm', () => existsSync(join(stageDir(id), 'output', 'pids.json')), 120_000);
    await waitForJob(gateway.url, id, ['running'], 30_000);
    const row = /\[corral\] submitted Slurm job (\d+) /.exec(await jobLog(gateway.url, id))![1]!;
    assert.equal(squeueState(row), 'RUNNING');

    const url = `${gateway.url}/api/v1/train/jobs/${id}/output`;
    const headers = { 'content-type': 'application/octet-stream' };
    for (const auth of [{}, { authorization: 'Bearer not-the-token' }]) {
      const res = await fetch(url, { method: 'PUT', headers: { ...headers, ...auth }, body: Buffer.from('not a model') });
      assert.equal(res.status, 401, await res.clone().text());
    }
    const gatewaySide = join(home, 'training', 'jobs', id);
    assert.deepEqual(readdirSync(join(gatewaySide, 'output')), [], 'nothing was written');
    assert.ok(!existsSync(join(gatewaySide, '.incoming')) || readdirSync(join(gatewaySide, '.incoming')).length === 0);
    // With the job's own token (the test reads it from the batch script): past the upload limit 413, and nothing kept.
    const token = /^token='?([A-Za-z0-9_-]+)'?$/m.exec(readFileSync(join(stageDir(id), 'job.sbatch'), 'utf8'))![1]!;
    const big = await fetch(url, { method: 'PUT', headers: { ...headers, authorization: `Bearer ${token}` }, body: Buffer.alloc(2 * 1024 * 1024, 1) });
    assert.equal(big.status, 413, await big.clone().text());
    assert.deepEqual(readdirSync(join(gatewaySide, 'output')), []);
    assert.deepEqual(readdirSync(join(gatewaySide, '.incoming')), []);
    const small = await fetch(url, { method: 'PUT', headers: { ...headers, authorization: `Bearer ${token}` }, body: Buffer.from('bytes') });
    assert.equal(small.status, 200, await small.clone().text());
    assert.deepEqual(readdirSync(join(gatewaySide, 'output')), ['m.onnx']);

    const cancel = await fetch(`${gateway.url}/api/v1/train/jobs/${id}`, { method: 'DELETE' });
    assert.equal(cancel.status, 200);
    const cancelled = await cancel.json() as { state: string; error: string };
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.error, 'cancelled by a request');
    assert.ok(['', 'CANCELLED'].includes(squeueState(row)), `the Slurm job is gone: ${squeueState(row)}`);
    // Without the token it is 401 whatever the job's state (a finished job's own token gets 409: the first test).
    assert.equal((await fetch(url, { method: 'PUT', headers, body: Buffer.from('x') })).status, 401);
  });

  test('?follow=1 streams the job\'s log while it runs on Slurm', async () => {
    const id = await submit(gateway.url, '/api/v1/train/waiting/waiting.onnx', { script: fixture('train_wait.py'), fields: onSlurm() });
    const res = await fetch(`${gateway.url}/api/v1/train/jobs/${id}/logs?follow=1`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = await readUntil(reader, 'epoch 1/1 done, waiting for go\n');
    assert.equal((await getJob(gateway.url, id)).state, 'running');
    assert.match(await jobLog(gateway.url, id), /epoch 1\/1 done, waiting for go\n/);
    writeFileSync(join(stageDir(id), 'output', 'go'), '');
    text = await readToEnd(reader, text);
    assert.match(text, /saved\n/);
    assert.match(text, /\[corral\] state: registered \(version 1\)\n$/);
  });

  test('a gateway restart while a job runs: the new gateway re-attaches, and the job ends registered', async () => {
    const id = await submit(gateway.url, '/api/v1/train/restart/restart.onnx', { script: fixture('train_wait.py'), fields: onSlurm() });
    await waitFor('the job to wait for go', async () => /waiting for go/.test(await jobLog(gateway.url, id)), 120_000);
    await gateway.close();
    const slurmJob = /\[corral\] submitted Slurm job (\d+) /.exec(readFileSync(join(home, 'training', 'jobs', id, 'train.log'), 'utf8'))![1]!;
    assert.equal(squeueState(slurmJob), 'RUNNING', 'closing the gateway leaves the Slurm job running');

    gateway = await openGateway();
    const reopened = await getJob(gateway.url, id);
    assert.equal(reopened.state, 'running', reopened.error ?? '');
    writeFileSync(join(stageDir(id), 'output', 'go'), '');
    const job = await waitForJob(gateway.url, id, undefined, 60_000);
    assert.equal(job.state, 'registered', job.error ?? '');
    assert.equal(job.model_version, 1);
    const log = await jobLog(gateway.url, id);
    assert.match(log, /\[corral\] the gateway restarted: following Slurm job \d+ again\n/);
    assert.equal(log.match(/epoch 1\/1 done, waiting for go\n/g)?.length, 1, 'the log is copied once, not again from its start');
    assert.match(log, /saved\n/);
  });
});
