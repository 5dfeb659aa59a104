import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli as runCliAs, type CliResult } from '../helpers/run-cli.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { parseFilter } from '../../src/cli/service-commands.js';
import { writeTinyBert } from '../fixtures/transformers/index.js';

let server: TestServer;
let bert: string;
/**
 * The tour runs with auth on, as a user on the gateway's machine does: no key
 * given, so the CLI sends the admin key from CORRAL_HOME/admin.key.
 */
const runCli = (url: string, args: string[]): Promise<CliResult> => runCliAs(url, args, { CORRAL_HOME: server.home, CORRAL_API_KEY: '' });
before(async () => {
  server = await startTestServer({}, { CORRAL_AUTH: 'on' });
  assert.ok(server.adminKey);
  bert = join(server.home, 'tiny-bert');
  await writeTinyBert(bert, { task: 'feature-extraction' });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey)).status, 201);
});
after(async () => { await server.close(); });

describe('corral CLI against a real gateway', () => {
  test('run prints the service id, waits for RUNNING, and the service answers through fetch', async () => {
    const run = await runCli(server.url, ['run', 'feature-extraction', '--model', bert, '--name', 'cli-bert']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const details = await runCli(server.url, ['--json', 'details', 'cli-bert']);
    assert.equal(JSON.parse(details.stdout).status, 'RUNNING');
    assert.equal(JSON.parse(details.stdout).id, id);
    const fetched = await runCli(server.url, ['fetch', 'cli-bert', '--text', 'The sun rises in the east.']);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal((JSON.parse(fetched.stdout) as { embeddings: number[][] }).embeddings.length, 1);
    const routed = await runCli(server.url, ['fetch', 'cli-bert', 'embed', '--data', '{"sentences": ["a", "b"]}']);
    assert.equal((JSON.parse(routed.stdout) as { embeddings: number[][] }).embeddings.length, 2);
  });

  test('ls shows a table, filters, and --json gives every field', async () => {
    const table = await runCli(server.url, ['ls']);
    assert.equal(table.code, 0);
    assert.match(table.stdout.split('\n')[0]!, /^ID\s+NAME\s+TASK\s+MODEL\s+PROFILE\s+STATUS\s+CREATED_AT/);
    assert.match(table.stdout, /cli-bert\s+feature-extraction/);
    const filtered = await runCli(server.url, ['--json', 'ls', '--filter', 'task=ocr']);
    assert.deepEqual((JSON.parse(filtered.stdout) as Array<{ name: string }>).map((s) => s.name), ['ocr']);
    const none = await runCli(server.url, ['ls', '--filter', 'status=timeout']);
    assert.match(none.stdout, /\(none\)/);
  });

  test('stop leaves the service STOPPED and listed; rm deletes it', async () => {
    const stop = await runCli(server.url, ['stop', 'cli-bert']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /cli-bert STOPPED/);
    const fetched = await runCli(server.url, ['fetch', 'cli-bert', 'embed', '--data', '{"sentences": ["a"]}']);
    assert.equal(fetched.code, 1);
    assert.match(fetched.stderr, /^corral: Service 'cli-bert' is STOPPED/);
    const rm = await runCli(server.url, ['rm', 'cli-bert']);
    assert.match(rm.stdout, /deleted cli-bert/);
    assert.equal((await runCli(server.url, ['details', 'cli-bert'])).code, 4);
  });

  test('a service that cannot load fails run with exit 1 and the reason in one line', async () => {
    const run = await runCli(server.url, ['run', 'feature-extraction', '--model', server.home, '--name', 'cli-broken']);
    assert.equal(run.code, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^corral: Service cli-broken is FAILED: /);
  });

  test('run --idle-minutes and --no-wake set scale to zero; a bad --idle-minutes is a usage error', async () => {
    const run = await runCli(server.url, ['run', 'feature-extraction', '--runtime', 'embed', '--name', 'cli-sleepy', '--idle-minutes', '0.5', '--no-wake']);
    assert.equal(run.code, 0, run.stderr);
    const details = JSON.parse((await runCli(server.url, ['--json', 'details', 'cli-sleepy'])).stdout) as { idle_minutes: number; wake_on_request: boolean };
    assert.equal(details.idle_minutes, 0.5);
    assert.equal(details.wake_on_request, false);
    const bad = await runCli(server.url, ['run', 'feature-extraction', '--runtime', 'embed', '--name', 'cli-bad', '--idle-minutes', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--idle-minutes must be a number above 0, got '0'/);
    assert.equal((await runCli(server.url, ['rm', 'cli-sleepy'])).code, 0);
  });

  test('profiles: create, list, update, delete, written to profiles.cfg in Blackfish format', async () => {
    const create = await runCli(server.url, ['profile', 'create', 'hpc', '--type', 'slurm', '--host', 'login.example.edu', '--user', 'alice',
      '--home-dir', '/home/alice/.corral', '--cache-dir', '/scratch/models', '--partition', 'gpu', '--time-limit', '1:00:00', '--gpus', '1']);
    assert.equal(create.code, 0, create.stderr);
    const cfg = readFileSync(join(server.home, 'profiles.cfg'), 'utf8');
    assert.match(cfg, /\[hpc\]\ntype=slurm\nhost=login.example.edu\nuser=alice\nhome_dir=\/home\/alice\/.corral\ncache_dir=\/scratch\/models/);
    const update = await runCli(server.url, ['profile', 'update', 'hpc', '--memory', '16G']);
    assert.equal(update.code, 0, update.stderr);
    const ls = await runCli(server.url, ['--json', 'profile', 'ls']);
    const hpc = (JSON.parse(ls.stdout) as Array<{ name: string; memory: string; gpus: number }>).find((p) => p.name === 'hpc')!;
    assert.equal(hpc.memory, '16G');
    assert.equal(hpc.gpus, 1);
    // --unset clears keys (null in a JSON merge patch): gone from the view and from profiles.cfg.
    const unset = await runCli(server.url, ['--json', 'profile', 'update', 'hpc', '--unset', 'gpus, memory', '--cpus', '4']);
    assert.equal(unset.code, 0, unset.stderr);
    const cleared = JSON.parse(unset.stdout) as Record<string, unknown>;
    assert.deepEqual([cleared.gpus, cleared.memory, cleared.cpus, cleared.partition], [null, null, 4, 'gpu']);
    assert.doesNotMatch(readFileSync(join(server.home, 'profiles.cfg'), 'utf8'), /^(gpus|memory)=/m);
    const unknown = await runCli(server.url, ['profile', 'update', 'hpc', '--unset', 'colour']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /colour/);
    // The type cannot be cleared, and a box profile keeps what it cannot do without.
    assert.equal((await postJson(`${server.url}/api/profiles/hpc`, { type: null }, 'PATCH', server.adminKey)).status, 400);
    assert.equal((await runCli(server.url, ['profile', 'create', 'rack', '--type', 'gce', '--project', 'lab', '--zone', 'us-central1-a', '--instances', 'gpu-1'])).code, 0);
    const needs = await postJson(`${server.url}/api/profiles/rack`, { zone: null }, 'PATCH', server.adminKey);
    assert.equal(needs.status, 400);
    assert.match(await needs.text(), /a gce profile needs zone/);
    assert.equal((await runCli(server.url, ['profile', 'delete', 'rack'])).code, 0);
    const dup = await runCli(server.url, ['profile', 'create', 'hpc', '--type', 'slurm']);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /already exists/);
    const bad = await runCli(server.url, ['profile', 'create', 'weird', '--type', 'cloud']);
    assert.equal(bad.code, 2);
    assert.equal((await runCli(server.url, ['profile', 'delete', 'hpc'])).code, 0);
    assert.equal((await runCli(server.url, ['profile', 'delete', 'hpc'])).code, 4);
  });

  test('models ls lists the repository and, after --refresh, hub snapshots in the profile dirs', async () => {
    const ls = await runCli(server.url, ['--json', 'models', 'ls', '--refresh']);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = JSON.parse(ls.stdout) as Array<{ model: string; source: string; task: string | null }>;
    assert.ok(rows.some((r) => r.model === 'iris.onnx' && r.source === 'repository' && r.task === 'tensor'));
    // --task keeps the models of one task (aliases accepted); an unknown task is a usage error naming the known ones.
    const tensor = JSON.parse((await runCli(server.url, ['--json', 'models', 'ls', '--task', 'onnx'])).stdout) as typeof rows;
    assert.deepEqual([...new Set(tensor.map((r) => r.task))], ['tensor']);
    const table = await runCli(server.url, ['models', 'ls', '--task', 'text-generation']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout.includes('iris.onnx'), false);
    const unknown = await runCli(server.url, ['models', 'ls', '--task', 'colouring']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown task 'colouring'; one of feature-extraction, /);
  });

  test('usage errors exit 2, an unreachable gateway 3, unknown ids 4, each with one line', async () => {
    const usage = await runCli(server.url, ['ls', '--filter', 'colour=red']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^corral: Bad filter 'colour=red'/);
    const unknown = await runCli(server.url, ['frobnicate']);
    assert.equal(unknown.code, 2);
    const down = await runCli('http://127.0.0.1:1', ['ls']);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /Cannot reach Corral at http:\/\/127.0.0.1:1/);
    const missing = await runCli(server.url, ['details', 'no-such-service']);
    assert.equal(missing.code, 4);
    const badPort = await runCli(server.url, ['start', '--port', 'abc']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be a whole number/);
  });

  test('--help works on every command', async () => {
    for (const args of [['--help'], ['run', '--help'], ['profile', '--help'], ['models', 'ls', '--help'], ['worker', '--help']]) {
      const res = await runCli(server.url, args);
      assert.equal(res.code, 0, args.join(' '));
      assert.match(res.stdout, /Usage: corral/);
    }
  });
});

describe('CLI parsing', () => {
  test('--filter parses key=value pairs and rejects unknown keys', () => {
    assert.deepEqual(parseFilter('id=abc, status=running'), { id: 'abc', status: 'running' });
    assert.deepEqual(parseFilter(undefined), {});
    assert.throws(() => parseFilter('nope'), /Bad filter 'nope'/);
  });
});
