import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { shellJoin, shellQuote, type CommandRunner } from '../launchers/command-runner.js';
import { assertWorkDir, sbatchDirectives } from '../launchers/sbatch-script.js';
import {
  INVALID_JOB, JOB_ID, cancelSlurmJob, READ_LOG, SlurmCommandError, WRITE_SCRIPT, parseScontrolJob, parseSqueueLine,
} from '../launchers/slurm-launcher.js';
import { describeExitCode, mapSlurmState, normalizeSlurmState } from '../launchers/slurm-state.js';
import type { Profile } from '../profiles/index.js';
import type { Trainer, TrainingHandle, TrainingOutcome, TrainingRun } from './trainer.js';

export interface SlurmTrainerSettings {
  /** CORRAL_TRAIN_PYTHON: the interpreter on the cluster's nodes (default python3). */
  python: string;
  /** CORRAL_TRAIN_PIP_ARGS: added to `pip install -r`. */
  pipArgs: string[];
  /** Between two looks at the job (squeue, its log). */
  pollMs: number;
}

/** Lines the batch script prints for the gateway (taken out of the log): `##corral-job## <what> [detail]`. */
const MARKER = /^##corral-job## ([a-z-]+)(?: (.*))?$/;
const ERROR_LINES = 20;
const TAIL_CHARS = 64 * 1024;
/** At most this much of the log is read per command. */
const LOG_CHUNK = 1024 * 1024;

/** Where a Slurm job is: still queued or running (`live`), or ended with its state and exit code. */
interface SlurmJobState { raw: string; live: boolean; exitCode?: string }

/**
 * Training on a Slurm profile. The job's files are staged in
 * <home_dir>/corral-training/<job id>/ on the cluster side (a copy here when
 * the login node is this machine, their bytes on ssh's stdin otherwise); a
 * private batch script (written through stdin, like the launcher's) makes the
 * virtual environment when there are requirements, runs the script with the
 * same environment as a local run, and PUTs the model back to the gateway
 * with a token only it holds. The gateway follows the job with squeue,
 * scontrol and sacct, and copies its log (the job's --output) into the job's
 * log here, so GET .../logs and ?follow=1 work as for local jobs.
 */
export class SlurmTrainer implements Trainer {
  readonly local = false;
  /** <home_dir>/corral-training on the cluster side. */
  readonly workDir: string;

  constructor(readonly profile: Profile, readonly runner: CommandRunner, private readonly settings: SlurmTrainerSettings) {
    if (!profile.homeDir) throw new Error(`Slurm profile '${profile.name}' needs a home_dir for training jobs`);
    this.workDir = `${profile.homeDir.replace(/\/+$/, '')}/corral-training`;
    assertWorkDir(this.workDir);
  }

  stageDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`invalid training job id ${JSON.stringify(id)}`);
    return `${this.workDir}/${id}`;
  }

  start(run: TrainingRun): TrainingHandle {
    return this.follow(run, 0, async () => {
      await this.stage(run);
      const jobId = await this.submit(run);
      await run.checkpoint({ slurmJobId: jobId, logOffset: 0 });
      run.note(`submitted Slurm job ${jobId} (partition ${this.profile.partition ?? 'default'}); its log is ${this.stageDir(run.id)}/train.log on ${this.runner.target}`);
      return jobId;
    });
  }

  attach(run: TrainingRun, state: { slurmJobId: string; logOffset: number }): TrainingHandle {
    run.note(`the gateway restarted: following Slurm job ${state.slurmJobId} again`);
    return this.follow(run, state.logOffset, async () => state.slurmJobId);
  }

  /** The batch script for a run (without its token when `token` is undefined: for tests and logs). */
  renderScript(run: TrainingRun, token: string | undefined): string {
    const stage = this.stageDir(run.id);
    const output = `${stage}/output`;
    const options = run.options;
    const lines = ['#!/bin/bash', ...sbatchDirectives({
      jobName: `corral-train-${run.tag}`,
      ...(this.profile.partition ? { partition: this.profile.partition } : {}),
      timeLimit: String(Math.max(1, Math.ceil(options.timeout_minutes))),
      ...(run.memoryBytes !== null ? { memory: `${Math.max(1, Math.ceil(run.memoryBytes / 1024 ** 2))}M` } : {}),
      ...(options.cpus !== null ? { cpus: options.cpus } : {}),
      ...(options.gpus !== null ? { gpus: options.gpus } : {}),
      output: `${stage}/train.log`,
      chdir: output,
    })];
    const env: Record<string, string> = {
      CORRAL_OUTPUT_DIR: output,
      CORRAL_MODEL_PATH: `${output}/${run.outputFile}`,
      CORRAL_JOB_ID: run.id,
      MODEL_NAME: run.outputFile,
      TAG: run.tag,
      PYTHONUNBUFFERED: '1',
      ...(run.files.dataset ? { CORRAL_DATASET: `${stage}/${basename(run.files.dataset)}` } : {}),
      ...(options.cpus ? Object.fromEntries(['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'].map((k) => [k, String(options.cpus)])) : {}),
      ...(options.gpus === 0 ? { CUDA_VISIBLE_DEVICES: '' } : {}),
    };
    const script = `${stage}/script.py`;
    lines.push(
      `# Corral training job ${run.id}, written by the Slurm trainer.`,
      'mark() { echo "##corral-job## $*"; }',
      // The gateway's own settings (sbatch passes its environment on) are no business of the script.
      'for v in $(compgen -e); do case "$v" in CORRAL_*) unset "$v";; esac; done',
      ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
      // Not exported: the token goes to curl on its stdin, and the script never sees it.
      `token=${shellQuote(token ?? '<token>')}`,
      `upload_url=${shellQuote(`${run.gatewayUrl().replace(/\/+$/, '')}/api/v1/train/jobs/${run.id}/output`)}`,
      `python=${shellQuote(this.settings.python)}`,
      'cd "$CORRAL_OUTPUT_DIR" || exit 1',
    );
    if (run.files.requirements) {
      const sha = run.files.requirements.sha256;
      const pip = ['--disable-pip-version-check', '--no-input', '-r', `${stage}/requirements.txt`, ...this.settings.pipArgs];
      lines.push(
        'mark installing',
        `venv=${shellQuote(`${this.workDir}/venvs/${sha}`)}`,
        'mkdir -p -- "$(dirname -- "$venv")"',
        // One job at a time makes a given environment; the others wait and use it.
        'if command -v flock >/dev/null; then exec 9>"$venv.lock" && flock 9; fi',
        'if [ -f "$venv/.ready" ]; then',
        `  echo "[corral] using the virtual environment for these requirements (${sha.slice(0, 12)})"`,
        'else',
        '  rm -rf -- "$venv"',
        '  echo "[corral] making a virtual environment: $python -m venv --system-site-packages"',
        '  "$python" -m venv --system-site-packages "$venv" || { mark setup-failed "$python -m venv failed (exit code $?); is the venv module installed (Debian: python3-venv)?"; rm -rf -- "$venv"; exit 90; }',
        `  echo ${shellQuote(`[corral] pip install -r requirements.txt${this.settings.pipArgs.length > 0 ? ` ${this.settings.pipArgs.join(' ')}` : ''}`)}`,
        `  "$venv/bin/python" -m pip install ${shellJoin(pip)} || { mark setup-failed "pip install -r requirements.txt failed (exit code $?)"; rm -rf -- "$venv"; exit 91; }`,
        '  date -u > "$venv/.ready"',
        'fi',
        'exec 9>&-',
        'python="$venv/bin/python"',
      );
    }
    lines.push(
      'mark running',
      `echo "[corral] running $python -u ${script}"`,
      `"$python" -u ${shellQuote(script)}`,
      'code=$?',
      'if [ "$code" -ne 0 ]; then mark exit "$code"; exit "$code"; fi',
      'model=""',
      'for f in "$CORRAL_OUTPUT_DIR/$MODEL_NAME" "$CORRAL_OUTPUT_DIR/${MODEL_NAME%.onnx}"; do if [ -f "$f" ]; then model=$f; break; fi; done',
      'if [ -z "$model" ]; then mark no-output "$(ls -A | head -20 | paste -sd, - | sed \'s/,/, /g\')"; exit 0; fi',
      'echo "[corral] uploading $(basename -- "$model") ($(wc -c < "$model") bytes) to the gateway"',
      'if ! answer=$(printf \'Authorization: Bearer %s\\n\' "$token" | curl -sS --fail-with-body -H @- -H \'Content-Type: application/octet-stream\' -T "$model" "$upload_url" 2>&1); then',
      '  mark upload-failed "$(printf %s "$answer" | tr \'\\n\' \' \' | cut -c1-500)"',
      '  exit 92',
      'fi',
      'mark uploaded',
    );
    return `${lines.join('\n')}\n`;
  }

  /** Copies script, requirements and dataset into the stage directory (and makes its output directory). */
  private async stage(run: TrainingRun): Promise<void> {
    const stage = this.stageDir(run.id);
    const files: Array<[string, string]> = [[run.files.script, 'script.py']];
    if (run.files.requirements) files.push([run.files.requirements.path, 'requirements.txt']);
    if (run.files.dataset) files.push([run.files.dataset, basename(run.files.dataset)]);
    if (!this.runner.remote) {
      await mkdir(`${stage}/output`, { recursive: true, mode: 0o700 });
      await chmod(stage, 0o700);
      for (const [from, name] of files) await copyFile(from, `${stage}/${name}`);
      return;
    }
    const mkdirs = ['sh', '-c', 'umask 077 && mkdir -p -- "$1/output"', 'sh', stage];
    const made = await this.runner.run(mkdirs);
    if (made.code !== 0) throw new SlurmCommandError(`cannot make ${stage} on ${this.runner.target}`, mkdirs, made);
    for (const [from, name] of files) {
      // The bytes travel on ssh's stdin, never on a command line.
      const write = ['sh', '-c', 'umask 077 && cat > "$1"', 'sh', `${stage}/${name}`];
      const written = await this.runner.run(write, { input: await readFile(from), timeoutMs: 600_000 });
      if (written.code !== 0) throw new SlurmCommandError(`cannot stage ${name} on ${this.runner.target}`, write, written);
    }
  }

  private async submit(run: TrainingRun): Promise<string> {
    const stage = this.stageDir(run.id);
    const path = `${stage}/job.sbatch`;
    const write = ['sh', '-c', WRITE_SCRIPT, 'sh', stage, path];
    const written = await this.runner.run(write, { input: this.renderScript(run, run.uploadToken) });
    if (written.code !== 0) throw new SlurmCommandError(`cannot write the batch script on ${this.runner.target}`, write, written);
    const submit = ['sbatch', '--parsable', path];
    const submitted = await this.runner.run(submit);
    const line = submitted.stdout.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
    const jobId = line.split(';')[0]!.trim();
    if (submitted.code !== 0 || !JOB_ID.test(jobId)) throw new SlurmCommandError('sbatch failed', submit, submitted);
    return jobId;
  }

  /** squeue while the job is known there, then scontrol, then sacct; undefined when none knows it. */
  async jobState(jobId: string): Promise<SlurmJobState | undefined> {
    if (!JOB_ID.test(jobId)) throw new Error(`invalid Slurm job id ${JSON.stringify(jobId)}`);
    const squeue = ['squeue', '-h', '-j', jobId, '-o', '%T|%R|%N'];
    const queued = await this.runner.run(squeue);
    let fromSqueue: SlurmJobState | undefined;
    if (queued.code === 0 && queued.stdout.trim() !== '') {
      const row = parseSqueueLine(queued.stdout.trim().split('\n')[0]!);
      if (isLive(row.state)) return { raw: normalizeSlurmState(row.state), live: true };
      fromSqueue = { raw: normalizeSlurmState(row.state), live: false };
    } else if (queued.code !== 0 && !INVALID_JOB.test(queued.stderr)) {
      throw new SlurmCommandError('squeue failed', squeue, queued);
    }
    const scontrol = ['scontrol', '-o', 'show', 'job', jobId];
    const shown = await this.runner.run(scontrol);
    if (shown.code === 0 && shown.stdout.trim() !== '') {
      const f = parseScontrolJob(shown.stdout.trim().split('\n')[0]!);
      const raw = normalizeSlurmState(f['JobState'] ?? '');
      return { raw, live: isLive(raw), ...(f['ExitCode'] ? { exitCode: f['ExitCode'] } : {}) };
    }
    if (shown.code !== 0 && !INVALID_JOB.test(shown.stderr)) throw new SlurmCommandError('scontrol show job failed', scontrol, shown);
    const sacct = await this.runner.run(['sacct', '-n', '-P', '-X', '-j', jobId, '-o', 'State,ExitCode']);
    const line = sacct.code === 0 ? sacct.stdout.split('\n').find((l) => l.trim() !== '') : undefined;
    if (line) {
      const [state = '', exitCode = ''] = line.split('|');
      return { raw: normalizeSlurmState(state), live: isLive(state), exitCode };
    }
    return fromSqueue;
  }

  /** Reads the job's log from `offset` on: { next offset, text }. */
  private async readLog(id: string, offset: number): Promise<{ next: number; text: string }> {
    const log = `${this.stageDir(id)}/train.log`;
    let text = '';
    for (;;) {
      const read = ['sh', '-c', READ_LOG, 'sh', log, String(offset), String(LOG_CHUNK)];
      const result = await this.runner.run(read);
      const newline = result.stdout.indexOf('\n');
      const head = /^(\d+) (\d+)$/.exec(result.stdout.slice(0, newline < 0 ? undefined : newline));
      if (result.code !== 0 || !head) throw new SlurmCommandError(`cannot read the job log ${log}`, read, result);
      const [start, end] = [Number(head[1]), Number(head[2])];
      text += newline < 0 ? '' : result.stdout.slice(newline + 1);
      offset = end;
      if (end - start < LOG_CHUNK) return { next: offset, text };
    }
  }

  /** Submits (or finds) the job, then follows it to its end. */
  private follow(run: TrainingRun, fromOffset: number, submit: () => Promise<string>): TrainingHandle {
    let stopped = false;
    let detached = false;
    let jobId: string | undefined;
    let wake: (() => void) | undefined;
    let offset = fromOffset;
    let pending = '';
    let tail = '';
    const markers = new Map<string, string>();
    const entered = new Set<string>();

    /** Copies whole lines of new log into the job's log; marker lines move the job on instead. */
    const take = async (text: string, final: boolean) => {
      pending += text;
      const cut = final ? pending.length : pending.lastIndexOf('\n') + 1;
      const lines = pending.slice(0, cut);
      pending = pending.slice(cut);
      let out = '';
      const flush = () => {
        if (out === '') return;
        run.output('stdout', out);
        tail = (tail + out).slice(-TAIL_CHARS);
        out = '';
      };
      for (const line of lines.split(/(?<=\n)/)) {
        const marker = MARKER.exec(line.replace(/\n$/, ''));
        if (!marker) {
          out += line;
          continue;
        }
        flush();
        const [, what, detail = ''] = marker;
        markers.set(what!, detail);
        if ((what === 'installing' || what === 'running') && !entered.has(what)) {
          entered.add(what);
          if (what === 'running') tail = '';
          await run.enter(what);
        }
      }
      flush();
    };

    const pull = async (final: boolean) => {
      const read = await this.readLog(run.id, offset);
      const moved = read.next !== offset;
      offset = read.next;
      await take(read.text, final);
      if (moved) await run.checkpoint({ logOffset: offset - Buffer.byteLength(pending) });
    };

    const sleep = () => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.settings.pollMs);
      wake = () => { clearTimeout(timer); resolve(); };
    });

    const done = (async (): Promise<TrainingOutcome> => {
      try {
        jobId = await submit();
      } catch (err) {
        if (stopped) return { kind: 'stopped' };
        return { kind: 'exited', exitCode: null, error: `submitting the job to Slurm on ${this.runner.target} failed: ${(err as Error).message}` };
      }
      if (stopped) await cancelSlurmJob(this.runner, jobId).catch((err: Error) => run.note(`warning: ${err.message}`));
      let failures = 0;
      for (;;) {
        if (detached) return { kind: 'stopped' };
        let state: SlurmJobState | undefined;
        try {
          state = await this.jobState(jobId);
          await pull(false);
          failures = 0;
        } catch (err) {
          // The controller or the login node is away for a moment: the job is not dead for it.
          if (failures++ % 30 === 0) run.note(`warning: cannot reach Slurm on ${this.runner.target} (${(err as Error).message.split('\n')[0]}); trying again`);
          await sleep();
          continue;
        }
        if (state?.live || detached) {
          await sleep();
          continue;
        }
        await pull(true).catch(() => undefined);
        return this.outcome(run, jobId, state, markers, tail, stopped);
      }
    })();

    return {
      done,
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (jobId !== undefined) {
          cancelSlurmJob(this.runner, jobId).catch((err: Error) => run.note(`warning: ${err.message}`));
          wake?.();
        }
      },
      detach: () => {
        detached = true;
        wake?.();
      },
    };
  }

  /** How an ended job went, from its Slurm state, exit code and the lines its batch script marked. */
  private outcome(run: TrainingRun, jobId: string, state: SlurmJobState | undefined, markers: Map<string, string>, tail: string, stopped: boolean): TrainingOutcome {
    if (stopped) return { kind: 'stopped' };
    if (!state) return { kind: 'exited', exitCode: null, error: `Slurm job ${jobId} is gone: squeue, scontrol and sacct no longer know it` };
    const last = tail.trimEnd().split('\n').slice(-ERROR_LINES).join('\n');
    const exit = /^(\d+)(?::(\d+))?$/.exec(state.exitCode?.trim() ?? '');
    const exitCode = markers.has('exit') ? Number(markers.get('exit')) : exit ? Number(exit[1]) : null;
    if (state.raw === 'TIMEOUT') {
      return { kind: 'timeout', error: `Slurm ended job ${jobId} at its time limit (--time=${Math.max(1, Math.ceil(run.options.timeout_minutes))} minutes)` };
    }
    if (markers.has('setup-failed')) {
      return { kind: 'exited', exitCode, error: `installing requirements failed: ${markers.get('setup-failed')}:\n${last}` };
    }
    if (state.raw === 'OUT_OF_MEMORY') return { kind: 'exited', exitCode, error: `killed: out of memory (limit ${run.options.memory})` };
    if (markers.has('exit')) {
      return { kind: 'exited', exitCode, error: `the script exited with code ${exitCode}; the end of its log:\n${last}` };
    }
    if (markers.has('upload-failed')) {
      return { kind: 'exited', exitCode: 0, error: `the job could not upload ${run.outputFile} to the gateway: ${markers.get('upload-failed')}` };
    }
    if (state.raw === 'COMPLETED' && markers.has('no-output')) {
      const listed = markers.get('no-output') ?? '';
      return { kind: 'exited', exitCode: 0, error: `the script ended without writing ${run.outputFile} in CORRAL_OUTPUT_DIR (it holds ${listed === '' ? 'no files' : listed})` };
    }
    if (state.raw === 'COMPLETED' && markers.has('uploaded')) return { kind: 'exited', exitCode: 0, error: null };
    if (state.raw === 'CANCELLED') return { kind: 'exited', exitCode, error: `Slurm job ${jobId} was cancelled outside Corral` };
    const how = describeExitCode(state.exitCode);
    return { kind: 'exited', exitCode, error: `Slurm job ${jobId} ended ${state.raw}${how ? ` (${how})` : ''}${last ? `; the end of its log:\n${last}` : ''}` };
  }
}

function isLive(raw: string): boolean {
  const state = mapSlurmState(raw);
  return state === 'SUBMITTED' || state === 'STARTING' || state === undefined;
}
