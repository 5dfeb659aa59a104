import { existsSync, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { api, authHeaders, gatewayOf, responseError, unreachable, type Gateway } from './api-client.js';
import { EXIT, ExitError } from './exit-error.js';
import { printRecord, printTable } from './output.js';
import { wholeNumber } from './parse-flags.js';

interface TrainingJob {
  id: string; tag: string; model_name: string; state: string; profile: string;
  created_at: string; started_at: string | null; finished_at: string | null;
  exit_code: number | null; error: string | null; model_version: number | null;
}

interface RunFlags {
  script: string; requirements?: string; dataset?: string; modelName?: string; profile?: string;
  timeoutMinutes?: string; memory?: string; cpus?: number; gpus?: number; follow?: boolean;
}

const JOB_COLUMNS = ['id', 'tag', 'model_name', 'state', 'profile', 'created_at', 'model_version', 'exit_code'];
const FINAL = new Set(['registered', 'failed', 'timeout', 'cancelled']);
const jobPath = (id: string) => `/api/v1/train/jobs/${encodeURIComponent(id)}`;

async function fileBlob(flag: string, path: string): Promise<Blob> {
  if (!existsSync(path)) throw new ExitError(`${flag}: no file ${path}.`, EXIT.USAGE);
  return openAsBlob(path);
}

/** Sends a request, turning a gateway that is not there or an error answer into the CLI's one-line errors. */
async function send(gateway: Gateway, method: string, path: string, body?: FormData): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${gateway.url}${path}`, { method, headers: authHeaders(gateway), body });
  } catch {
    throw unreachable(gateway);
  }
  if (!res.ok) {
    const text = await res.text();
    let json: unknown = text;
    try { json = JSON.parse(text); } catch { /* plain text */ }
    throw responseError(gateway, res.status, json);
  }
  return res;
}

/** Streams a job's log to stdout until the job ends (or, without follow, prints the log so far). */
async function printLog(gateway: Gateway, id: string, follow: boolean): Promise<void> {
  const res = await send(gateway, 'GET', `${jobPath(id)}/logs${follow ? '?follow=1' : ''}`);
  const decoder = new TextDecoder();
  for await (const chunk of res.body ?? []) process.stdout.write(decoder.decode(chunk as Uint8Array, { stream: true }));
  process.stdout.write(decoder.decode());
}

/** The end of a followed job: its registered version, or an error with what went wrong. */
function outcome(job: TrainingJob, json: boolean): void {
  if (json) console.log(JSON.stringify(job, null, 2));
  if (job.state === 'registered') {
    if (!json) console.log(`registered ${job.tag} version ${job.model_version} (training job ${job.id})`);
    return;
  }
  throw new ExitError(`training job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`, EXIT.FAILURE);
}

/**
 * corral train: run a training script on the gateway (MLBuffet's trainer) and
 * follow it. `corral train <tag> --script train.py` is `corral train run <tag> ...`;
 * a tag named like a subcommand (ls, logs, cancel, show, run) needs the `run` form.
 */
export function registerTrainCommands(program: Command): void {
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);
  const train = program.command('train').description('train a model from a script on the gateway; its output is registered in the model repository');

  train.command('run', { isDefault: true }).description('submit a training job (also: corral train <tag> --script ...)')
    .argument('<tag>', 'the repository name the trained model is registered as')
    .requiredOption('--script <file>', 'the training script (Python); it writes $MODEL_NAME in $CORRAL_OUTPUT_DIR')
    .option('--requirements <file>', 'requirements.txt installed with pip into a virtual environment')
    .option('--dataset <file>', 'a data file; the script finds its path in $CORRAL_DATASET')
    .option('--model-name <name>', 'the file the script writes (".onnx" added when missing; default <tag>.onnx)')
    .option('--profile <name>', 'where to train (default local)')
    .option('--timeout-minutes <n>', 'time limit of the job (default CORRAL_TRAIN_TIMEOUT_MINUTES on the gateway, 60)')
    .option('--memory <size>', 'memory limit, e.g. 512M or 4G')
    .option('--cpus <n>', 'CPUs (caps the threads of numeric libraries)', wholeNumber('--cpus', 1, 1024))
    .option('--gpus <n>', 'GPUs (0 hides them from the script)', wholeNumber('--gpus', 0, 64))
    .option('-f, --follow', 'print the log as it comes and wait for the job to end')
    .action(async (tag: string, opts: RunFlags, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const form = new FormData();
      form.append('script', await fileBlob('--script', opts.script), basename(opts.script));
      if (opts.requirements) form.append('requirements', await fileBlob('--requirements', opts.requirements), 'requirements.txt');
      if (opts.dataset) form.append('dataset', await fileBlob('--dataset', opts.dataset), basename(opts.dataset));
      const values: Record<string, string | number | undefined> = {
        profile: opts.profile, timeout_minutes: opts.timeoutMinutes, memory: opts.memory, cpus: opts.cpus, gpus: opts.gpus,
      };
      for (const [k, v] of Object.entries(values)) if (v !== undefined) form.append(k, String(v));
      const path = `/api/v1/train/${encodeURIComponent(tag)}/${encodeURIComponent(opts.modelName ?? tag)}`;
      const created = await (await send(gateway, 'POST', path, form)).json() as { job_id: string; job: TrainingJob };
      if (!opts.follow) {
        console.log(json(cmd) ? JSON.stringify(created.job, null, 2) : `training job ${created.job_id} queued; follow it with 'corral train logs ${created.job_id} -f'`);
        return;
      }
      if (!json(cmd)) console.error(`training job ${created.job_id} queued`);
      await printLog(gateway, created.job_id, true);
      outcome(await finalState(gateway, created.job_id), json(cmd));
    });

  train.command('ls').description('list training jobs, newest first').action(async (_o: unknown, cmd: Command) => {
    printTable(await api<TrainingJob[]>(gatewayOf(cmd), 'GET', '/api/v1/train/jobs') as unknown as Array<Record<string, unknown>>, JOB_COLUMNS, json(cmd));
  });

  train.command('show').description('one training job').argument('<id>').action(async (id: string, _o: unknown, cmd: Command) => {
    printRecord(await api<Record<string, unknown>>(gatewayOf(cmd), 'GET', jobPath(id)), json(cmd));
  });

  train.command('logs').description("a training job's stdout and stderr").argument('<id>')
    .option('-f, --follow', 'keep printing until the job ends')
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      await printLog(gatewayOf(cmd), id, Boolean(opts.follow));
    });

  train.command('cancel').description('cancel a queued or running training job').argument('<id>').action(async (id: string, _o: unknown, cmd: Command) => {
    const job = await api<TrainingJob>(gatewayOf(cmd), 'DELETE', jobPath(id));
    console.log(json(cmd) ? JSON.stringify(job, null, 2) : `training job ${job.id} ${job.state}`);
  });
}

/** The job once it has ended: the followed log ends with it, but its row may be written a moment later. */
async function finalState(gateway: Gateway, id: string): Promise<TrainingJob> {
  for (let attempt = 0; ; attempt++) {
    const job = await api<TrainingJob>(gateway, 'GET', jobPath(id));
    if (FINAL.has(job.state) || attempt >= 50) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}
