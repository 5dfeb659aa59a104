/**
 * Training on the local profile, for real: Debian's Python runs the fixture
 * scripts (scikit-learn, PyTorch, onnx.helper), the gateway registers what they
 * write and serves it through onnxruntime, and timeouts, cancels and memory
 * limits reach the whole process tree.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/scale-out.js';
import { createMemoryCgroup } from '../../src/training/memory-cgroup.js';
import {
  fixture, getJob, jobLog, printedPredictions, processExists, startTrainingServer, submit, train, waitForJob, WHEELS, type JobView,
  readToEnd, readUntil,
} from './training-helpers.js';

let server: TestServer;
before(async () => { server = await startTrainingServer(); });
after(async () => { await server.close(); });

const iris = fixture('iris.csv');
const jobDir = (id: string) => join(server.home, 'training', 'jobs', id);

async function inferLabels(tag: string, rows: number[][], output: string): Promise<number[][] | number[]> {
  const res = await fetch(`${server.url}/v2/models/${tag}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json() as { outputs: Array<{ name: string; data: number[] }> };
  return body.outputs.find((o) => o.name === output)!.data;
}

/** Pids the sleeper fixture wrote, once it has. */
const pidsOf = (id: string) => waitFor(`the pids of job ${id}`, () => {
  const path = join(jobDir(id), 'output', 'pids.json');
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as { script: number; child: number } : undefined;
}, 30_000);

describe('training on the local profile', () => {
  test('scikit-learn: MLBuffet envelope and job_id, registered as version 1 then 2, predictions over HTTP match the script', async () => {
    const res = await train(server.url, '/api/v1/train/iris-lr/iris.onnx', { script: fixture('train_sklearn.py'), dataset: iris });
    assert.equal(res.status, 200);
    const body = await res.json() as { http_status: { code: number; description: string; name: string }; job_id: string; job: JobView };
    assert.deepEqual(body.http_status, { code: 200, description: 'Training job created', name: 'OK' });
    assert.match(body.job_id, /^[0-9a-f-]{36}$/);
    assert.equal(body.job.tag, 'iris-lr');
    assert.equal(body.job.model_name, 'iris.onnx');
    assert.equal(body.job.profile, 'local');

    const job = await waitForJob(server.url, body.job_id);
    assert.equal(job.state, 'registered', job.error ?? '');
    assert.equal(job.model_version, 1);
    assert.equal(job.exit_code, 0);
    assert.equal(job.error, null);
    assert.ok(job.started_at && job.finished_at);
    const log = await jobLog(server.url, job.id);
    const printed = printedPredictions(log);
    assert.match(log, /trained on 90 rows/);
    assert.match(log, /\[corral\] state: registered \(version 1\)/);
    assert.deepEqual(await inferLabels('iris-lr', printed.rows, 'label'), printed.labels);
    // MLBuffet's prediction route serves it too.
    const mlb = await fetch(`${server.url}/api/v1/models/iris-lr/prediction`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ values: printed.rows }),
    });
    assert.equal(mlb.status, 200);

    const second = await waitForJob(server.url, await submit(server.url, '/api/v1/train/iris-lr/iris.onnx', { script: fixture('train_sklearn.py'), dataset: iris }));
    assert.equal(second.state, 'registered', second.error ?? '');
    assert.equal(second.model_version, 2);
    const model = await (await fetch(`${server.url}/api/v1/models/iris-lr`)).json() as { version: number };
    assert.equal(model.version, 2);

    const list = await (await fetch(`${server.url}/api/v1/train/jobs`)).json() as JobView[];
    assert.deepEqual(list.slice(0, 2).map((j) => j.id), [second.id, job.id]);
  });

  test('PyTorch: torch.onnx.export output is registered and predicts what the script printed', async () => {
    // MLBuffet's short form: the tag is the model name; ".onnx" is added to the file looked for.
    const job = await waitForJob(server.url, await submit(server.url, '/api/v1/train/iris-torch', { script: fixture('train_torch.py'), dataset: iris }));
    assert.equal(job.state, 'registered', job.error ?? '');
    assert.equal(job.tag, 'iris-torch');
    assert.equal(job.model_name, 'iris-torch.onnx');
    assert.equal(job.model_version, 1);
    const printed = printedPredictions(await jobLog(server.url, job.id));
    const logits = await inferLabels('iris-torch', printed.rows, 'logits') as number[];
    const labels = printed.rows.map((_, i) => { const row = logits.slice(i * 3, i * 3 + 3); return row.indexOf(Math.max(...row)); });
    assert.deepEqual(labels, printed.labels);
  });

  test('a script that raises: failed, its exit code, and the traceback in error', async () => {
    const job = await waitForJob(server.url, await submit(server.url, '/api/v1/train/broken/broken.onnx', { script: fixture('train_raises.py') }));
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, 1);
    assert.match(job.error!, /^the script exited with code 1; the end of its stderr:\nTraceback \(most recent call last\):/);
    assert.match(job.error!, /ValueError: learning rate -1 is out of range$/);
    assert.equal(job.model_version, null);
  });

  test('no output, or an output the repository refuses: failed, and the served version stays', async () => {
    const before = await (await fetch(`${server.url}/api/v1/models/iris-lr`)).json() as { version: number };
    const missing = await waitForJob(server.url, await submit(server.url, '/api/v1/train/iris-lr/iris.onnx', { script: fixture('train_no_output.py') }));
    assert.equal(missing.state, 'failed');
    assert.equal(missing.exit_code, 0);
    assert.equal(missing.error, 'the script ended without writing iris.onnx in CORRAL_OUTPUT_DIR (it holds no files)');

    const garbage = await waitForJob(server.url, await submit(server.url, '/api/v1/train/iris-lr/iris.onnx', { script: fixture('train_garbage.py') }));
    assert.equal(garbage.state, 'failed');
    assert.match(garbage.error!, /^the repository refused iris\.onnx: INVALID_MODEL_FILE: /);
    assert.equal(garbage.model_version, null);

    const after = await (await fetch(`${server.url}/api/v1/models/iris-lr`)).json() as { version: number };
    assert.equal(after.version, before.version);
    const printed = { rows: [[5.0, 3.4, 1.5, 0.2]] };
    assert.equal((await inferLabels('iris-lr', printed.rows, 'label')).length, 1);
  });

  test('a requirement pip cannot find (no index): failed while installing, with pip\'s message', async () => {
    const id = await submit(server.url, '/api/v1/train/needs-pkg/m.onnx', { script: fixture('train_no_output.py'), requirements: fixture('requirements-missing.txt') });
    const job = await waitForJob(server.url, id);
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /^installing requirements failed: pip install -r requirements.txt failed \(exit code 1\):\n/);
    assert.match(job.error!, /No matching distribution found for corral-no-such-package-for-tests==1\.0/);
    const log = await jobLog(server.url, id);
    assert.match(log, /\[corral\] state: installing\n/);
    assert.doesNotMatch(log, /\[corral\] state: running/);
    assert.equal(existsSync(join(server.home, 'training', 'venvs')), true);
  });

  test('requirements: installed from the wheel mirror into a virtual environment, reused by the next job with the same file', async () => {
    assert.ok(existsSync(WHEELS), `this test installs tabulate from the local wheel mirror ${WHEELS}, which is missing here`);
    const files = { script: fixture('train_requirements.py'), requirements: fixture('requirements-tabulate.txt') };
    const first = await waitForJob(server.url, await submit(server.url, '/api/v1/train/with-reqs/m.onnx', files));
    assert.equal(first.state, 'registered', first.error ?? '');
    const log = await jobLog(server.url, first.id);
    assert.match(log, /\[corral\] state: installing\n\[corral\] making a virtual environment: \/usr\/bin\/python3 -m venv --system-site-packages\n/);
    assert.match(log, /Successfully installed tabulate-0\.10\.0/);
    assert.match(log, /\ntabulate 0\.10\.0 from a virtual environment\n/);
    const second = await waitForJob(server.url, await submit(server.url, '/api/v1/train/with-reqs/m.onnx', files));
    assert.equal(second.state, 'registered', second.error ?? '');
    assert.equal(second.model_version, 2);
    const again = await jobLog(server.url, second.id);
    assert.match(again, /\[corral\] using the virtual environment for these requirements \([0-9a-f]{12}\)\n/);
    assert.doesNotMatch(again, /making a virtual environment/);
  });

  test('a timeout kills the whole process tree', async () => {
    const id = await submit(server.url, '/api/v1/train/sleepy/m.onnx', { script: fixture('train_sleeper.py'), fields: { timeout_minutes: '0.02' } });
    const pids = await pidsOf(id);
    const job = await waitForJob(server.url, id);
    assert.equal(job.state, 'timeout');
    assert.equal(job.error, 'timed out after 0.02 minutes (timeout_minutes)');
    await waitFor('the script and its child to be gone', () => !processExists(pids.script) && !processExists(pids.child), 10_000);
  });

  test('one job at a time: the next stays queued; cancel works queued and running, and ends the process group', async () => {
    const running = await submit(server.url, '/api/v1/train/sleepy/m.onnx', { script: fixture('train_sleeper.py') });
    const queued = await submit(server.url, '/api/v1/train/sleepy/m.onnx', { script: fixture('train_sleeper.py') });
    const pids = await pidsOf(running);
    assert.equal((await getJob(server.url, running)).state, 'running');
    assert.equal((await getJob(server.url, queued)).state, 'queued');

    const cancelQueued = await fetch(`${server.url}/api/v1/train/jobs/${queued}`, { method: 'DELETE' });
    assert.equal(cancelQueued.status, 200);
    assert.equal(((await cancelQueued.json()) as JobView).state, 'cancelled');

    const cancel = await fetch(`${server.url}/api/v1/train/jobs/${running}`, { method: 'DELETE' });
    assert.equal(cancel.status, 200);
    const cancelled = await cancel.json() as JobView;
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.error, 'cancelled by a request');
    assert.equal(processExists(pids.script), false);
    await waitFor('the child sleep to be gone', () => !processExists(pids.child), 10_000);

    const again = await fetch(`${server.url}/api/v1/train/jobs/${running}`, { method: 'DELETE' });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'TRAINING_JOB_FINISHED');
    const unknown = await fetch(`${server.url}/api/v1/train/jobs/no-such-job`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'TRAINING_JOB_NOT_FOUND');
  });

  test('?follow=1 streams a line the script prints while the job still runs, and ends with the job', async () => {
    const id = await submit(server.url, '/api/v1/train/followed/followed.onnx', { script: fixture('train_wait.py') });
    const res = await fetch(`${server.url}/api/v1/train/jobs/${id}/logs?follow=1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const reader = res.body!.getReader();
    let text = await readUntil(reader, 'epoch 1/1 done, waiting for go\n');
    // The job cannot have ended: it waits for this file.
    assert.equal((await getJob(server.url, id)).state, 'running');
    writeFileSync(join(jobDir(id), 'output', 'go'), '');
    text = await readToEnd(reader, text);
    assert.match(text, /saved\n/);
    assert.match(text, /\[corral\] state: registered \(version 1\)\n$/);
    assert.equal((await getJob(server.url, id)).state, 'registered');
  });

  test('MLBuffet\'s 422 without a script, and 4xx for bad names, profiles and limits', async () => {
    const noScript = new FormData();
    noScript.append('dataset', new Blob(['a,b\n1,2\n']), 'data.csv');
    const res = await fetch(`${server.url}/api/v1/train/x/x.onnx`, { method: 'POST', body: noScript });
    assert.equal(res.status, 422);
    assert.deepEqual(await res.json(), {
      http_status: { code: 422, description: "No training script provided with name 'script'", name: 'Unprocessable Entity' }, error: 'TRAINING_SCRIPT_MISSING',
    });
    const cases: Array<[string, Record<string, string>, number, string, RegExp]> = [
      ['/api/v1/train/x/x.onnx', { profile: 'nowhere' }, 404, 'PROFILE_NOT_FOUND', /No profile 'nowhere'/],
      ['/api/v1/train/x/x.onnx', { timeout_minutes: '-3' }, 400, 'BAD_REQUEST', /timeout_minutes must be/],
      ['/api/v1/train/x/x.onnx', { memory: 'lots' }, 400, 'BAD_REQUEST', /memory must be a size/],
      ['/api/v1/train/x/x.onnx', { cpus: '0' }, 400, 'BAD_REQUEST', /cpus must be a whole number from 1/],
      ['/api/v1/train/x/x.onnx', { colour: 'blue' }, 400, 'BAD_REQUEST', /Unknown field 'colour'/],
      ['/api/v1/train/..x/x.onnx', {}, 400, 'INVALID_MODEL_NAME', /Invalid model name '\.\.x'/],
    ];
    for (const [path, fields, status, code, message] of cases) {
      // All three files each time: the body is read to its end (past MLBuffet's three files) before the fields are judged.
      const r = await train(server.url, path, { script: fixture('train_no_output.py'), requirements: fixture('requirements-tabulate.txt'), dataset: iris, fields });
      const body = await r.json() as { http_status: { description: string }; error: string };
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(body.error, code);
      assert.match(body.http_status.description, message);
    }
    // A box profile: not yet (Slurm profiles train: test/training/train-slurm.test.ts).
    const created = await fetch(`${server.url}/api/profiles`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lab', type: 'command', instances: 'box-a', start_command: '/bin/true', stop_command: '/bin/true', status_command: '/bin/true' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const boxes = await train(server.url, '/api/v1/train/x/x.onnx', { script: fixture('train_no_output.py'), fields: { profile: 'lab' } });
    assert.equal(boxes.status, 400);
    assert.equal(((await boxes.json()) as { http_status: { description: string } }).http_status.description, 'training on command profiles is not supported yet; use a local or slurm profile.');
    // None of the refused requests left a job behind.
    const jobs = await (await fetch(`${server.url}/api/v1/train/jobs`)).json() as JobView[];
    assert.equal(jobs.filter((j) => j.tag === 'x').length, 0);
  });

  test('memory=64M: a script allocating far more ends failed, out of memory', async (t) => {
    const probe = createMemoryCgroup(`corral-probe-${process.pid}`, 64 * 1024 * 1024);
    if (!probe) {
      // Where no cgroup is writable the job runs without a limit, with a warning in its log.
      t.diagnostic('no writable memory cgroup here: checking the warning instead');
      const id = await submit(server.url, '/api/v1/train/hog/hog.onnx', { script: fixture('train_no_output.py'), fields: { memory: '64M' } });
      await waitForJob(server.url, id);
      assert.match(await jobLog(server.url, id), /warning: no writable memory cgroup here; running without the 64M memory limit/);
      return;
    }
    await probe.remove();
    const job = await waitForJob(server.url, await submit(server.url, '/api/v1/train/hog/hog.onnx', { script: fixture('train_hog.py'), fields: { memory: '64M' } }));
    assert.equal(job.state, 'failed');
    assert.equal(job.error, 'killed: out of memory (limit 64M)');
    assert.equal(job.exit_code, 137);
    const log = await jobLog(server.url, job.id);
    assert.match(log, /\[corral\] memory limit 64M \(cgroup v[12]\)\n/);
    assert.doesNotMatch(log, /allocated \(no limit\?\)/);
  });
});
