/**
 * `corral train`: the real binary submits a training job to a real gateway,
 * follows its log to the end and reports the registered version; ls, logs and
 * cancel work on the jobs it made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import type { TestServer } from '../helpers/test-server.js';
import { fixture, startTrainingServer, waitForJob } from './training-helpers.js';

let server: TestServer;
before(async () => { server = await startTrainingServer(); });
after(async () => { await server.close(); });

describe('corral train', () => {
  test('run --follow prints the log and ends with the registered version; the shorthand and ls, logs, show too', async () => {
    const run = await runCli(server.url, ['train', 'run', 'cli-iris', '--script', fixture('train_sklearn.py'), '--dataset', fixture('iris.csv'), '--model-name', 'iris', '--follow']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^training job [0-9a-f-]{36} queued\n$/);
    const id = /training job ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
    assert.match(run.stdout, /^\[corral\] job [0-9a-f-]{36} queued: iris\.onnx → cli-iris on profile local\n/);
    assert.match(run.stdout, /\ntrained on 90 rows, accuracy /);
    assert.match(run.stdout, /\nPREDICTIONS \{/);
    assert.match(run.stdout, new RegExp(`\\[corral\\] state: registered \\(version 1\\)\\nregistered cli-iris version 1 \\(training job ${id}\\)\\n$`));

    // corral train <tag> is corral train run <tag>.
    const short = await runCli(server.url, ['train', 'cli-iris', '--script', fixture('train_sklearn.py'), '--dataset', fixture('iris.csv'), '--model-name', 'iris', '-f']);
    assert.equal(short.code, 0, short.stderr);
    assert.match(short.stdout, /\nregistered cli-iris version 2 \(training job [0-9a-f-]{36}\)\n$/);

    const ls = await runCli(server.url, ['--json', 'train', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const jobs = JSON.parse(ls.stdout) as Array<{ id: string; state: string; model_version: number }>;
    assert.deepEqual(jobs.map((j) => [j.state, j.model_version]), [['registered', 2], ['registered', 1]]);
    assert.equal(jobs[1]!.id, id);

    const logs = await runCli(server.url, ['train', 'logs', id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /\[corral\] state: registered \(version 1\)\n$/);
    const show = await runCli(server.url, ['train', 'show', id]);
    assert.match(show.stdout, /^state\s+registered$/m);
  });

  test('a failing script: exit code 1 and the traceback; cancel of a finished job is a usage error', async () => {
    const run = await runCli(server.url, ['train', 'run', 'cli-broken', '--script', fixture('train_raises.py'), '--follow']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /ValueError: learning rate -1 is out of range\n/);
    assert.match(run.stderr, /corral: training job [0-9a-f-]{36} failed: the script exited with code 1; the end of its stderr:\nTraceback/);
    const id = /training job ([0-9a-f-]{36}) failed/.exec(run.stderr)![1]!;
    const cancel = await runCli(server.url, ['train', 'cancel', id]);
    assert.equal(cancel.code, 2);
    assert.match(cancel.stderr, /^corral: Training job [0-9a-f-]{36} is failed; only a queued, installing or running job can be cancelled\.\n$/);
  });

  test('cancel stops a running job', async () => {
    const run = await runCli(server.url, ['--json', 'train', 'run', 'cli-sleepy', '--script', fixture('train_sleeper.py')]);
    assert.equal(run.code, 0, run.stderr);
    const { id } = JSON.parse(run.stdout) as { id: string };
    await waitForJob(server.url, id, ['running']);
    const cancel = await runCli(server.url, ['train', 'cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancel.stdout, `training job ${id} cancelled\n`);
    const missing = await runCli(server.url, ['train', 'logs', 'no-such-job']);
    assert.equal(missing.code, 4);
  });
});
