/**
 * `corral profile create --type command ...` and `corral boxes ls|status|start|stop`,
 * the real binary against a real gateway, with a command profile whose scripts
 * keep each instance's state in a file (one step per status read: no timing).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli as runCliAs, type CliResult } from '../helpers/run-cli.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
let dir: string;
const runCli = (args: string[]): Promise<CliResult> => runCliAs(server.url, args, { CORRAL_HOME: server.home, CORRAL_API_KEY: '' });

/** start: STARTING, then RUNNING at the next status read; stop: STOPPING, then STOPPED. No file: STOPPED. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\nd=$(dirname "$0")\ni="$CORRAL_BOX_INSTANCE"\n${body}\n`);
  chmodSync(path, 0o755);
  return `sh ${path}`;
}

before(async () => {
  server = await startTestServer({ workers: 1 }, { CORRAL_AUTH: 'on' });
  dir = mkdtempSync(join(tmpdir(), 'corral-boxes-cli-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('corral boxes', () => {
  test('profile create takes the box flags', async () => {
    const created = await runCli(['--json', 'profile', 'create', 'lab', '--type', 'command', '--instances', 'box-a,box-b', '--max-restarts', '2',
      '--start-command', script('start.sh', 'echo STARTING > "$d/$i"\necho RUNNING > "$d/$i.next"'),
      '--stop-command', script('stop.sh', 'echo STOPPING > "$d/$i"\necho STOPPED > "$d/$i.next"'),
      '--status-command', script('status.sh', [
        'if [ ! -f "$d/$i" ]; then echo STOPPED; exit 0; fi',
        'state=$(cat "$d/$i")',
        'if [ -f "$d/$i.next" ]; then mv "$d/$i.next" "$d/$i"; fi',
        'if [ "$state" = RUNNING ]; then echo "RUNNING 127.0.0.1"; else echo "$state"; fi',
      ].join('\n'))]);
    assert.equal(created.code, 0, created.stderr);
    const profile = JSON.parse(created.stdout) as Record<string, unknown>;
    assert.equal(profile.type, 'command');
    assert.equal(profile.instances, 'box-a,box-b');
    assert.equal(profile.max_restarts, 2);
    assert.equal(profile.status_command, `sh ${join(dir, 'status.sh')}`);

    const gce = await runCli(['profile', 'create', 'cloud', '--type', 'gce', '--project', 'sloth-compute', '--zone', 'us-central1-a', '--instances', 'beast-1', '--endpoint-url', 'http://127.0.0.1:9']);
    assert.equal(gce.code, 0, gce.stderr);
    assert.equal(gce.stdout.trim(), 'created profile cloud');
    const bad = await runCli(['profile', 'create', 'bad', '--type', 'ec2', '--instances', 'i-1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^corral: Profile 'bad': .*needs region/);
    assert.equal((await runCli(['profile', 'delete', 'cloud'])).code, 0);
  });

  test('ls shows a table of the boxes, --json every field', async () => {
    const table = await runCli(['boxes', 'ls']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^PROFILE\s+INSTANCE\s+STATE\s+ZONE\s+ADDRESS\s+PROVIDER_STATE\s+REASON$/);
    assert.match(lines[1]!, /^lab\s+box-a\s+STOPPED\s+-\s+-\s+STOPPED\s+-$/);
    assert.match(lines[2]!, /^lab\s+box-b\s+STOPPED/);
    assert.equal(lines.length, 3);
    const json = await runCli(['--json', 'boxes', 'ls', '--profile', 'lab']);
    assert.deepEqual(JSON.parse(json.stdout), ['box-a', 'box-b'].map((instance) => ({
      profile: 'lab', instance, state: 'STOPPED', zone: null, address: null, provider_state: 'STOPPED', reason: null,
    })));
  });

  test('start --wait returns once the box runs; status shows it; stop --wait once it is stopped', async () => {
    const start = await runCli(['boxes', 'start', 'lab', 'box-a', '--wait']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.stdout.trim(), 'lab/box-a RUNNING 127.0.0.1');
    const status = await runCli(['boxes', 'status', 'lab', 'box-a']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^state\s+RUNNING$/m);
    assert.match(status.stdout, /^address\s+127\.0\.0\.1$/m);
    const stop = await runCli(['--json', 'boxes', 'stop', 'lab', 'box-a', '--wait']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(JSON.parse(stop.stdout).state, 'STOPPED');
    // Without --wait: the state right after asking.
    const started = await runCli(['boxes', 'start', 'lab', 'box-b']);
    assert.equal(started.stdout.trim(), 'lab/box-b STARTING');
  });

  test('errors are one line with the exit code of their kind', async () => {
    const unknown = await runCli(['boxes', 'status', 'lab', 'nope']);
    assert.equal(unknown.code, 4);
    assert.equal(unknown.stderr.trim(), "corral: Profile 'lab' has no instance 'nope'; it lists box-a, box-b.");
    const notBox = await runCli(['boxes', 'start', 'local', 'box-a']);
    assert.equal(notBox.code, 2);
    assert.match(notBox.stderr, /^corral: Profile 'local' is a local profile, not a box profile/);
    writeFileSync(join(dir, 'box-a'), 'STOPPING\n');
    const busy = await runCli(['boxes', 'start', 'lab', 'box-a']);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /^corral: Box 'box-a' of profile 'lab' is STOPPING/);
  });
});
