/**
 * The Slurm launcher against a real single-node Slurm cluster on this machine
 * (scripts/slurm/setup-local-cluster.sh makes it; no fake squeue), plus unit
 * tests of the batch script, the state mapping and the command runner.
 *
 *   node --import tsx --test test/launchers/slurm-launcher.test.ts
 *
 * Takes about two minutes, most of it waiting for Slurm to end a job at its
 * one-minute time limit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { BackendState, JobReport, LaunchSpec } from '../../src/launchers/launcher.js';
import type { Profile } from '../../src/profiles/profile.js';
import {
  LocalCommandRunner,
  SshCommandRunner,
  createCommandRunner,
  shellJoin,
  shellQuote,
} from '../../src/launchers/command-runner.js';
import { SlurmLauncher, parseScontrolJob } from '../../src/launchers/slurm-launcher.js';
import { jobName, renderSbatchScript, sbatchOptions } from '../../src/launchers/sbatch-script.js';
import { describeExitCode, mapSlurmState } from '../../src/launchers/slurm-state.js';

const execFileAsync = promisify(execFile);
const SETUP_SCRIPT = join(import.meta.dirname, '../../scripts/slurm/setup-local-cluster.sh');
const NODE = hostname().split('.')[0]!;

const baseProfile: Profile = {
  name: 'test-cluster',
  type: 'slurm',
  host: 'localhost',
  partition: 'debug',
  timeLimit: '10',
  memory: '256M',
  cpus: 1,
};

let seq = 0;
function spec(command: string[], env: Record<string, string> = {}): LaunchSpec {
  seq += 1;
  const serviceId = `svc-${process.pid}-${seq}`;
  return { serviceId, serviceName: `test ${seq}`, command, env };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls status() until `done` holds or `timeoutMs` passes; returns the last report and every state seen. */
async function waitFor(
  launcher: SlurmLauncher,
  jobId: string,
  done: (report: JobReport) => boolean,
  { timeoutMs = 60_000, intervalMs = 1_000 } = {},
): Promise<{ report: JobReport; seen: BackendState[] }> {
  const seen: BackendState[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await launcher.status(jobId);
    if (seen.at(-1) !== report.state) seen.push(report.state);
    if (done(report)) return { report, seen };
    if (Date.now() > deadline) {
      assert.fail(`job ${jobId} still ${report.state} (${report.reason ?? 'no reason'}) after ${timeoutMs} ms; states seen: ${seen.join(' -> ')}`);
    }
    await sleep(intervalMs);
  }
}

const isFinal = (r: JobReport) => r.state === 'STOPPED' || r.state === 'FAILED' || r.state === 'TIMEOUT';

describe('SlurmLauncher on a real single-node cluster', () => {
  let workDir: string;
  let launcher: SlurmLauncher;
  const launched: string[] = [];

  before(async () => {
    try {
      const { stdout } = await execFileAsync('bash', [SETUP_SCRIPT], { timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 });
      process.stdout.write(stdout);
    } catch (error) {
      const e = error as { message: string; stdout?: string; stderr?: string };
      throw new Error(
        `scripts/slurm/setup-local-cluster.sh failed, so there is no Slurm cluster to test against:\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
      );
    }
    workDir = await mkdtemp('/tmp/corral-slurm-test-');
    launcher = new SlurmLauncher({ profile: baseProfile, runner: createCommandRunner({ host: 'localhost' }), workDir });
  });

  after(async () => {
    for (const jobId of launched) await launcher?.stop(jobId).catch(() => {});
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function launch(l: SlurmLauncher, s: LaunchSpec): Promise<string> {
    const { jobId } = await l.launch(s);
    assert.match(jobId, /^\d+$/);
    launched.push(jobId);
    return jobId;
  }

  test('a running job is SUBMITTED/STARTING, then STARTING (never RUNNING); stop() makes it STOPPED', async () => {
    const jobId = await launch(launcher, spec(['sleep', '300']));
    const first = await launcher.status(jobId);
    assert.ok(first.state === 'SUBMITTED' || first.state === 'STARTING', `first state ${first.state}`);

    const { report, seen } = await waitFor(launcher, jobId, (r) => r.state === 'STARTING' || isFinal(r));
    assert.equal(report.state, 'STARTING', `states seen: ${seen.join(' -> ')} (${report.reason ?? ''})`);
    assert.equal(report.node, NODE);
    // Still STARTING a few seconds later: only the gateway promotes to RUNNING.
    await sleep(2_000);
    assert.equal((await launcher.status(jobId)).state, 'STARTING');

    await launcher.stop(jobId);
    const stopped = await waitFor(launcher, jobId, isFinal, { timeoutMs: 30_000 });
    assert.equal(stopped.report.state, 'STOPPED', stopped.report.reason ?? '');
    assert.match(stopped.report.reason ?? '', /cancelled/);
    assert.ok(!stopped.seen.includes('RUNNING'));
    // Stopping a job that has already ended is not an error.
    await launcher.stop(jobId);
  });

  test('a command that exits 1 is FAILED with its exit code in the reason', async () => {
    const jobId = await launch(launcher, spec(['bash', '-c', 'echo "about to fail" >&2; exit 1']));
    const { report } = await waitFor(launcher, jobId, isFinal);
    assert.equal(report.state, 'FAILED');
    assert.match(report.reason ?? '', /exit code 1\b/);
    assert.match(report.reason ?? '', /about to fail/, 'the reason carries the end of the job log');
    assert.equal(report.node, NODE);
  });

  test('`false` is FAILED (exit code 1)', async () => {
    const jobId = await launch(launcher, spec(['false']));
    const { report } = await waitFor(launcher, jobId, isFinal);
    assert.equal(report.state, 'FAILED');
    assert.match(report.reason ?? '', /exit code 1\b/);
  });

  test('a command that does not exist is FAILED (exit code 127, "not found" from the log)', async () => {
    const jobId = await launch(launcher, spec(['corral-no-such-command-7f3a', '--flag']));
    const { report } = await waitFor(launcher, jobId, isFinal);
    assert.equal(report.state, 'FAILED');
    assert.match(report.reason ?? '', /exit code 127/);
    assert.match(report.reason ?? '', /corral-no-such-command-7f3a.*not found/);
  });

  test('the environment and quoted arguments arrive intact', async () => {
    const out = join(workDir, 'env-out.txt');
    const value = `two  spaces, 'single' and "double" quotes, $HOME, \`date\`, back\\slash, semi;colon & *glob*`;
    const arg = `arg with 'quote' and "dq" $(echo no) %j #hash`;
    const jobId = await launch(
      launcher,
      spec(['bash', '-c', 'echo "$CORRAL_TEST_VAR" > "$2"; printf "%s\\n" "$1" >> "$2"', 'bash', arg, out], {
        CORRAL_TEST_VAR: value,
        CORRAL_EMPTY: '',
      }),
    );
    const { report } = await waitFor(launcher, jobId, isFinal);
    assert.equal(report.state, 'STOPPED', report.reason ?? '');
    assert.match(report.reason ?? '', /completed/);
    assert.equal(await readFile(out, 'utf8'), `${value}\n${arg}\n`);
  });

  test('an unknown job id is FAILED: job not found', async () => {
    assert.deepEqual(await launcher.status('987654321'), { state: 'FAILED', reason: 'job not found' });
  });

  test('a job past its one-minute time limit is TIMEOUT', { timeout: 200_000 }, async () => {
    const short = new SlurmLauncher({
      profile: { ...baseProfile, timeLimit: '1' },
      runner: new LocalCommandRunner(),
      workDir,
    });
    const jobId = await launch(short, spec(['sleep', '600']));
    const { report, seen } = await waitFor(short, jobId, isFinal, { timeoutMs: 180_000, intervalMs: 2_000 });
    assert.equal(report.state, 'TIMEOUT', `${report.reason ?? ''}; states seen: ${seen.join(' -> ')}`);
    assert.match(report.reason ?? '', /time limit/);
    for (const state of seen) assert.ok(['SUBMITTED', 'STARTING', 'TIMEOUT'].includes(state), `unexpected state ${state}`);
  });
});

describe('sbatch script', () => {
  const s: LaunchSpec = {
    serviceId: 'abc-123',
    serviceName: 'My LLM/v2',
    command: ['corral', 'host', '--service', 'abc-123', '--gateway', 'http://gw:8080', "it's"],
    env: { HF_HOME: '/scratch/hf cache', CORRAL_TOKEN: `a'b"c$d` },
  };
  const profile: Profile = { ...baseProfile, partition: 'gpu', timeLimit: '1:30:00', memory: '16G', cpus: 4, gpus: 2 };

  test('renders partition, time, memory, cpus, gres, output and the exec line', () => {
    const script = renderSbatchScript(s, sbatchOptions(s, profile, '/home/u/corral-jobs'));
    const lines = script.split('\n');
    assert.equal(lines[0], '#!/bin/bash');
    for (const directive of [
      '#SBATCH --job-name=corral-My-LLM-v2',
      '#SBATCH --partition=gpu',
      '#SBATCH --time=1:30:00',
      '#SBATCH --mem=16G',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --gres=gpu:2',
      '#SBATCH --output=/home/u/corral-jobs/abc-123.log',
      '#SBATCH --chdir=/home/u/corral-jobs',
    ]) {
      assert.ok(lines.includes(directive), `missing ${directive} in\n${script}`);
    }
    // Every #SBATCH line comes before the first command (sbatch stops reading them there).
    const lastDirective = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
    const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    assert.ok(lastDirective < firstCommand);
    assert.ok(lines.includes(`export HF_HOME='/scratch/hf cache'`));
    assert.ok(lines.includes(`export CORRAL_TOKEN='a'\\''b"c$d'`));
    assert.equal(lines.at(-2), `exec corral host --service abc-123 --gateway http://gw:8080 'it'\\''s'`);
  });

  test('leaves out options the profile does not set, and --gres when gpus is 0', () => {
    const script = renderSbatchScript(s, sbatchOptions(s, { name: 'p', type: 'slurm', homeDir: '/h', gpus: 0 }, '/h/jobs'));
    assert.doesNotMatch(script, /--partition|--time|--mem|--cpus-per-task|--gres/);
    assert.match(script, /#SBATCH --output=\/h\/jobs\/abc-123\.log/);
  });

  test('rejects values that would break the script', () => {
    assert.throws(() => renderSbatchScript(s, sbatchOptions(s, { ...profile, partition: 'gpu --x' }, '/w')), /partition/);
    assert.throws(() => renderSbatchScript(s, sbatchOptions(s, { ...profile, timeLimit: 'soon' }, '/w')), /time limit/);
    assert.throws(() => renderSbatchScript(s, sbatchOptions(s, { ...profile, memory: '4 GB' }, '/w')), /memory/);
    assert.throws(() => renderSbatchScript(s, sbatchOptions(s, profile, '/w with space')), /work directory/);
    assert.throws(() => renderSbatchScript({ ...s, env: { 'BAD-NAME': 'x' } }, sbatchOptions(s, profile, '/w')), /variable name/);
    assert.throws(() => sbatchOptions({ ...s, serviceId: '../x' }, profile, '/w'), /service id/);
    assert.throws(
      () => new SlurmLauncher({ profile: { name: 'p', type: 'slurm' }, runner: new LocalCommandRunner() }),
      /home directory/,
    );
  });

  test('job names are sanitized', () => {
    assert.equal(jobName('bloom 560m'), 'corral-bloom-560m');
    assert.equal(jobName('$(rm -rf)'), 'corral-rm--rf');
    assert.equal(jobName(''), 'corral-service');
  });
});

describe('Slurm state mapping', () => {
  test('maps Slurm job states to backend states', () => {
    const expected: Record<string, BackendState> = {
      PENDING: 'SUBMITTED',
      CONFIGURING: 'SUBMITTED',
      RUNNING: 'STARTING',
      COMPLETING: 'STARTING',
      COMPLETED: 'STOPPED',
      CANCELLED: 'STOPPED',
      'CANCELLED by 0': 'STOPPED',
      FAILED: 'FAILED',
      NODE_FAIL: 'FAILED',
      OUT_OF_MEMORY: 'FAILED',
      BOOT_FAIL: 'FAILED',
      DEADLINE: 'FAILED',
      TIMEOUT: 'TIMEOUT',
      running: 'STARTING',
    };
    for (const [slurm, backend] of Object.entries(expected)) assert.equal(mapSlurmState(slurm), backend, slurm);
    assert.equal(mapSlurmState('SOMETHING_NEW'), undefined);
    for (const slurm of Object.keys(expected)) assert.notEqual(mapSlurmState(slurm), 'RUNNING');
  });

  test('describes exit codes', () => {
    assert.equal(describeExitCode('1:0'), 'exit code 1');
    assert.equal(describeExitCode('127:0'), 'exit code 127');
    assert.equal(describeExitCode('0:15'), 'killed by signal 15 (exit code 0:15)');
    assert.equal(describeExitCode('garbage'), undefined);
  });

  test('parses scontrol -o show job', () => {
    const f = parseScontrolJob(
      'JobId=7 JobName=corral-x UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=1:0 NodeList=vm StdOut=/w/a.log Comment=two words here TimeLimit=00:01:00',
    );
    assert.equal(f['JobState'], 'FAILED');
    assert.equal(f['ExitCode'], '1:0');
    assert.equal(f['NodeList'], 'vm');
    assert.equal(f['StdOut'], '/w/a.log');
    assert.equal(f['Comment'], 'two words here');
  });
});

describe('command runner', () => {
  test('runs locally with stdout, stderr, exit code and stdin', async () => {
    const runner = createCommandRunner({ host: '127.0.0.1' });
    assert.equal(runner.remote, false);
    const r = await runner.run(['sh', '-c', 'cat; echo err >&2; exit 3'], { input: 'hello' });
    assert.deepEqual({ stdout: r.stdout, stderr: r.stderr, code: r.code }, { stdout: 'hello', stderr: 'err\n', code: 3 });
    const missing = await runner.run(['corral-no-such-binary-7f3a']);
    assert.equal(missing.code, -1);
    assert.match(missing.stderr, /ENOENT/);
  });

  test('kills a command that runs past its timeout', async () => {
    const r = await new LocalCommandRunner().run(['sleep', '10'], { timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.equal(r.code, -1);
    assert.equal(r.signal, 'SIGKILL');
    assert.match(r.stderr, /timed out after 200 ms$/);
  });

  test('quotes arguments so a POSIX shell gets exactly the argv back', async () => {
    const argv = ['printf', '%s\\n', 'plain', 'with space', `it's`, '"dq"', '$HOME', '`x`', '$(id)', 'a\\b', '*', '', '~', 'new\nline', '-n'];
    const { stdout } = await execFileAsync('sh', ['-c', shellJoin(argv)]);
    assert.equal(stdout, `${argv.slice(2).join('\n')}\n`);
    assert.equal(shellQuote('simple-word_1.2/x'), 'simple-word_1.2/x');
    assert.equal(shellQuote(`it's`), `'it'\\''s'`);
  });

  test('builds a key-only SSH command for remote hosts', () => {
    const runner = createCommandRunner({ host: 'login.cluster.edu', user: 'alice', port: 2222 });
    assert.ok(runner instanceof SshCommandRunner);
    assert.equal(runner.remote, true);
    assert.deepEqual(runner.sshArgv(['squeue', '-h', '-o', '%T|%R']), [
      'ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-p', '2222',
      'alice@login.cluster.edu', '--', `squeue -h -o '%T|%R'`,
    ]);
    assert.throws(() => createCommandRunner({ host: '-oProxyCommand=x' }), /invalid SSH host/);
    assert.equal(createCommandRunner({}).remote, false);
    assert.equal(createCommandRunner({ host: 'localhost' }).remote, false);
  });
});
