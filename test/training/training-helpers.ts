import assert from 'node:assert/strict';
/**
 * Shared by the training suites: a gateway whose training jobs run Debian's
 * Python (/usr/bin/python3 with scikit-learn, onnx and torch from apt), and
 * helpers to submit jobs and wait for their states.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { StopWaiting, waitFor } from '../helpers/scale-out.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/training/', import.meta.url));
export const fixture = (name: string) => `${FIXTURES}${name}`;
export const PYTHON = '/usr/bin/python3';
export const WHEELS = '/opt/pypi/files';

export interface JobView {
  id: string; tag: string; model_name: string; state: string; profile: string;
  created_at: string; started_at: string | null; finished_at: string | null;
  exit_code: number | null; error: string | null; model_version: number | null;
}

/** CORRAL_TRAIN_* are read from the environment when the gateway starts. */
export async function startTrainingServer(settings: Record<string, string> = {}): Promise<TestServer> {
  // No index is reachable here: pip installs only from the local wheel mirror (TEST-SUBSTRATES.md).
  const env = { CORRAL_TRAIN_PYTHON: PYTHON, CORRAL_TRAIN_PIP_ARGS: `--no-index --find-links ${WHEELS}`, CORRAL_TRAIN_KILL_GRACE_MS: '1000', ...settings };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await startTestServer();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface TrainFiles {
  script: string;
  requirements?: string;
  dataset?: string;
  fields?: Record<string, string>;
}

/** POST /api/v1/train/<tag>/<model> (or /<model> without a tag) as MLBuffet's curl -F would. */
export async function train(url: string, path: string, files: TrainFiles): Promise<Response> {
  const form = new FormData();
  form.append('script', new Blob([readFileSync(files.script)]), 'train.py');
  if (files.requirements) form.append('requirements', new Blob([readFileSync(files.requirements)]), 'requirements.txt');
  if (files.dataset) form.append('dataset', new Blob([readFileSync(files.dataset)]), 'data.csv');
  for (const [k, v] of Object.entries(files.fields ?? {})) form.append(k, v);
  return fetch(`${url}${path}`, { method: 'POST', body: form });
}

/** Submits a job and returns its id (failing the test on anything but MLBuffet's 200). */
export async function submit(url: string, path: string, files: TrainFiles): Promise<string> {
  const res = await train(url, path, files);
  const body = await res.json() as { job_id?: string };
  if (res.status !== 200 || !body.job_id) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body.job_id;
}

export async function getJob(url: string, id: string): Promise<JobView> {
  const res = await fetch(`${url}/api/v1/train/jobs/${id}`);
  if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${await res.text()}`);
  return await res.json() as JobView;
}

const FINAL = new Set(['registered', 'failed', 'timeout', 'cancelled']);

/** Polls the job until it is in one of `states` (default: any final one), for at most `timeoutMs`. */
export async function waitForJob(url: string, id: string, states: string[] = [...FINAL], timeoutMs = 60_000): Promise<JobView> {
  return waitFor(`training job ${id} to be ${states.join('|')}`, async () => {
    const job = await getJob(url, id);
    if (states.includes(job.state)) return job;
    if (FINAL.has(job.state)) throw new StopWaiting(`job ${id} ended ${job.state}, not ${states.join('|')}: ${job.error}`);
    return undefined;
  }, timeoutMs, 100);
}

export async function jobLog(url: string, id: string): Promise<string> {
  return (await fetch(`${url}/api/v1/train/jobs/${id}/logs`)).text();
}

/** The PREDICTIONS line a fixture script prints. */
export function printedPredictions(log: string): { rows: number[][]; labels: number[] } {
  const line = log.split('\n').find((l) => l.startsWith('PREDICTIONS '));
  if (!line) throw new Error(`no PREDICTIONS line in the log:\n${log}`);
  return JSON.parse(line.slice('PREDICTIONS '.length)) as { rows: number[][]; labels: number[] };
}

export const processExists = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Reads a streamed body until its text includes `line` (fails if it ends first); returns the text so far. */
export async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, line: string, text = ''): Promise<string> {
  const decoder = new TextDecoder();
  while (!text.includes(line)) {
    const { value, done } = await reader.read();
    assert.equal(done, false, `the stream ended before the line: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** Reads a streamed body to its end, after `text`. */
export async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>, text = ''): Promise<string> {
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}
