/**
 * CommandProvider with small shell scripts in a temp dir that keep a state file
 * per instance: status, start and stop; the instance arrives as $1 and as
 * CORRAL_BOX_INSTANCE; garbage from status_command and a failing start_command
 * are clear errors; an instance name full of shell metacharacters is never run
 * as code; a command past its timeout is killed with everything it started.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { boxProviderFactory } from '../../src/boxes/box-providers.js';
import { CommandProvider, parseStatusLine } from '../../src/boxes/command-provider.js';
import { GceProvider } from '../../src/boxes/gce-provider.js';
import type { Profile } from '../../src/profiles/index.js';

let dir: string;

/** Writes an executable script into the temp dir and returns its path. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-command-boxes-'));
  // State file per instance, named by a checksum of $1 so any name works; each call logs $1 and the env var.
  writeFileSync(join(dir, 'lib.sh'), [
    `DIR='${dir}'`,
    'key=$(printf %s "$1" | cksum | cut -d" " -f1)',
    'STATE="$DIR/state-$key"',
    'printf "%s %s|%s\\n" "$(basename "$0")" "$1" "$CORRAL_BOX_INSTANCE" >> "$DIR/calls.log"',
  ].join('\n'));
  script('status.sh', `. '${dir}/lib.sh'\nif [ -f "$STATE" ]; then s=$(cat "$STATE"); else s=stopped; fi\nif [ "$s" = running ]; then echo "$s 10.1.2.3"; else echo "$s"; fi`);
  script('start.sh', `. '${dir}/lib.sh'\necho running > "$STATE"`);
  script('stop.sh', `. '${dir}/lib.sh'\necho STOPPED > "$STATE"`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const provider = (instances: string[], overrides: Partial<ConstructorParameters<typeof CommandProvider>[0]> = {}) =>
  new CommandProvider({
    instances,
    statusCommand: `${dir}/status.sh "$1"`,
    startCommand: `${dir}/start.sh "$1"`,
    stopCommand: `${dir}/stop.sh "$CORRAL_BOX_INSTANCE"`,
    ...overrides,
  });

describe('CommandProvider', () => {
  test('status, start and stop run the profile commands with the instance as $1 and CORRAL_BOX_INSTANCE', async () => {
    rmSync(join(dir, 'calls.log'), { force: true });
    const p = provider(['gpu1', 'gpu2']);
    assert.equal(p.type, 'command');
    assert.deepEqual(await p.list(), [
      { instance: 'gpu1', state: 'STOPPED', providerState: 'stopped' },
      { instance: 'gpu2', state: 'STOPPED', providerState: 'stopped' },
    ]);
    assert.deepEqual(await p.start('gpu1'), { instance: 'gpu1', state: 'RUNNING', providerState: 'running', address: '10.1.2.3' });
    assert.deepEqual(await p.list(), [
      { instance: 'gpu1', state: 'RUNNING', providerState: 'running', address: '10.1.2.3' },
      { instance: 'gpu2', state: 'STOPPED', providerState: 'stopped' },
    ]);
    assert.deepEqual(await p.stop('gpu1'), { instance: 'gpu1', state: 'STOPPED', providerState: 'STOPPED' });
    assert.deepEqual(lines(join(dir, 'calls.log')), [
      'status.sh gpu1|gpu1', 'status.sh gpu2|gpu2',
      'start.sh gpu1|gpu1', 'status.sh gpu1|gpu1',
      'status.sh gpu1|gpu1', 'status.sh gpu2|gpu2',
      'stop.sh gpu1|gpu1', 'status.sh gpu1|gpu1',
    ]);
  });

  test('a status command printing garbage is an Error naming the command and what it printed', async () => {
    const p = provider(['gpu1'], { statusCommand: 'echo "all good, probably"' });
    await assert.rejects(p.status('gpu1'), (e: Error) => {
      assert.equal(e.constructor, Error);
      assert.equal(e.message, "status_command `echo \"all good, probably\"` for instance gpu1 printed 'all good, probably'; its first line must be '<STATE> [address]' with STATE one of STOPPED, STARTING, RUNNING, STOPPING, PREEMPTED, MISSING.");
      return true;
    });
    await assert.rejects(provider(['gpu1'], { statusCommand: 'true' }).list(), /status_command `true` for instance gpu1 printed nothing; /);
  });

  test('a status command exiting non-zero is an Error with its stderr', async () => {
    const p = provider(['gpu1'], { statusCommand: 'echo RUNNING; echo "cloud says no: $1" >&2; exit 3' });
    await assert.rejects(p.status('gpu1'), { message: 'status_command `echo RUNNING; echo "cloud says no: $1" >&2; exit 3` for instance gpu1 exited with code 3: cloud says no: gpu1' });
  });

  test('a failing start is an Error with the last 20 lines of its stderr', async () => {
    const body = 'i=1; while [ $i -le 30 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 7';
    const p = provider(['gpu1'], { startCommand: body });
    await assert.rejects(p.start('gpu1'), (e: Error) => {
      assert.equal(e.constructor, Error);
      const expected = Array.from({ length: 20 }, (_, i) => `line ${i + 11}`).join('\n');
      assert.equal(e.message, `start_command \`${body}\` for instance gpu1 exited with code 7: ${expected}`);
      return true;
    });
  });

  test('an instance name with shell metacharacters reaches the command only as $1 and is never run', async () => {
    const marker = join(dir, 'pwned');
    const evil = [
      `x; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `x' ; touch ${marker}; echo '`, `x" ; touch ${marker}; echo "`, `x | touch ${marker}`, `x && touch ${marker} #`,
    ];
    // The control: each name spliced into a command line (bare, '...' or "...") would run touch.
    const spliced = (name: string) => (name.startsWith("x'") ? `echo '${name}'` : name.startsWith('x"') ? `echo "${name}"` : `echo ${name}`);
    for (const name of evil) {
      execFileSync('sh', ['-c', spliced(name)], { stdio: 'ignore' });
      assert.equal(existsSync(marker), true, name);
      rmSync(marker);
    }
    rmSync(join(dir, 'calls.log'), { force: true });
    const p = provider(evil);
    const listed = await p.list();
    assert.deepEqual(listed.map((b) => [b.instance, b.state]), evil.map((name) => [name, 'STOPPED']));
    assert.equal((await p.start(evil[1])).state, 'RUNNING');
    assert.equal((await p.stop(evil[1])).state, 'STOPPED');
    assert.equal(existsSync(marker), false, 'an instance name was run as a command');
    // Every script saw the exact name, as $1 and as CORRAL_BOX_INSTANCE.
    assert.deepEqual(lines(join(dir, 'calls.log')), [
      ...evil.map((name) => `status.sh ${name}|${name}`),
      `start.sh ${evil[1]}|${evil[1]}`, `status.sh ${evil[1]}|${evil[1]}`,
      `stop.sh ${evil[1]}|${evil[1]}`, `status.sh ${evil[1]}|${evil[1]}`,
    ]);
  });

  test('a command past its timeout is killed with what it started, and is an Error saying so', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const started = join(dir, 'after-sleep');
    const p = provider(['gpu1'], {
      startCommand: `sleep 30 & echo $! > '${pidFile}'; echo "waiting for $1" >&2; wait; touch '${started}'`,
      startTimeoutMs: 500,
    });
    await assert.rejects(p.start('gpu1'), (e: Error) => {
      assert.equal(e.constructor, Error);
      assert.match(e.message, /^start_command `sleep 30 & .*` for instance gpu1 timed out after 0\.5 s and was killed\. Its stderr: waiting for gpu1$/);
      return true;
    });
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(pid > 0);
    // The sleep it started is gone too (bounded poll: a SIGKILLed process is reaped promptly).
    const deadline = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(isAlive(pid), false, `sleep ${pid} survived the timeout`);
    assert.equal(existsSync(started), false);

    const slowStatus = provider(['gpu1'], { statusCommand: 'sleep 30', statusTimeoutMs: 300 });
    await assert.rejects(slowStatus.list(), { message: 'status_command `sleep 30` for instance gpu1 timed out after 0.3 s and was killed.' });
  });

  test('a command sh cannot find is an Error with its exit code and stderr', async () => {
    const p = provider(['gpu1'], { stopCommand: `${dir}/no-such-script "$1"` });
    await assert.rejects(p.stop('gpu1'), new RegExp(`^Error: stop_command \`${dir}/no-such-script "\\$1"\` for instance gpu1 exited with code 127: .*no-such-script.*not found`));
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('parseStatusLine', () => {
  test('every box state in any case, and the provider words it knows', () => {
    const cases: [string, string, string | undefined][] = [
      ['RUNNING 10.0.0.1', 'RUNNING', '10.0.0.1'], ['running', 'RUNNING', undefined], ['Stopped\nmore output', 'STOPPED', undefined],
      ['starting', 'STARTING', undefined], ['STOPPING', 'STOPPING', undefined], ['preempted', 'PREEMPTED', undefined], ['missing', 'MISSING', undefined],
      ['pending', 'STARTING', undefined], ['PROVISIONING', 'STARTING', undefined], ['staging', 'STARTING', undefined], ['shutting-down', 'STOPPING', undefined],
      ['  \n running   box.example  \n', 'RUNNING', 'box.example'],
    ];
    for (const [out, state, address] of cases) {
      const parsed = parseStatusLine(out);
      assert.equal(parsed?.state, state, out);
      assert.equal(parsed?.address, address, out);
    }
  });

  test('anything else is not a status line', () => {
    for (const out of ['', 'up', 'terminated', 'RUNNING 10.0.0.1 extra', 'ok RUNNING', '{"state":"RUNNING"}']) assert.equal(parseStatusLine(out), undefined, out);
  });
});

describe('boxProviderFactory', () => {
  test('makes the provider of each box type once per profile definition', async () => {
    const providerFor = boxProviderFactory();
    const command: Profile = { name: 'lab', type: 'command', instances: 'gpu1, gpu2', statusCommand: 'echo RUNNING "$1"', startCommand: 'true', stopCommand: 'true' };
    const p = providerFor(command);
    assert.ok(p instanceof CommandProvider);
    assert.equal(providerFor({ ...command }), p);
    assert.notEqual(providerFor({ ...command, instances: 'gpu1' }), p);
    assert.deepEqual(await p.list(), [
      { instance: 'gpu1', state: 'RUNNING', providerState: 'RUNNING', address: 'gpu1' },
      { instance: 'gpu2', state: 'RUNNING', providerState: 'RUNNING', address: 'gpu2' },
    ]);
    // The EC2 provider loads the AWS SDK on its first call (test/boxes/box-services.test.ts drives it against moto).
    assert.equal(providerFor({ name: 'aws', type: 'ec2', region: 'us-east-1', instances: 'i-1' }).type, 'ec2');
    assert.ok(providerFor({ name: 'gcp', type: 'gce', project: 'p', zone: 'us-central1-a', instances: 'gpu1' }) instanceof GceProvider);
    assert.throws(() => providerFor({ name: 'hpc', type: 'slurm' }), { code: 'BAD_REQUEST', message: "Profile 'hpc' is a slurm profile, not a box profile (gce, ec2 or command)." });
    assert.throws(() => providerFor({ name: 'aws2', type: 'ec2', instances: 'i-1' }), { code: 'BAD_REQUEST', message: "Profile 'aws2' (ec2) has no region; add it to its section in profiles.cfg." });
  });
});
