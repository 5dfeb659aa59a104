import { join } from 'node:path';
import { createMemoryCgroup, type MemoryCgroup } from './memory-cgroup.js';
import { spawnGroup, type GroupProcess } from './process-group.js';
import { PythonEnvs, SetupFailed } from './python-env.js';
import type { Trainer, TrainingHandle, TrainingOutcome, TrainingRun } from './trainer.js';

export interface LocalTrainerSettings {
  /** CORRAL_TRAIN_PYTHON: the interpreter (default python3). */
  python: string;
  /** CORRAL_TRAIN_PIP_ARGS: added to `pip install -r` (e.g. --no-index --find-links /opt/pypi/files). */
  pipArgs: string[];
  /** Between SIGTERM and SIGKILL when a run is stopped. */
  killGraceMs: number;
  /** CORRAL_HOME/training/venvs. */
  venvsDir: string;
}

/** How many lines of stderr a failed script's error keeps. */
const ERROR_LINES = 20;
const TAIL_CHARS = 64 * 1024;

/** Keeps the end of a stream of text. */
class Tail {
  private text = '';
  push(chunk: string) { this.text = (this.text + chunk).slice(-TAIL_CHARS); }
  lines(n: number): string { return this.text.trimEnd().split('\n').slice(-n).join('\n'); }
  clear() { this.text = ''; }
}

/** The gateway's own settings (CORRAL_*: keys, URLs) are no business of a training script. */
const scriptEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CORRAL_'))),
  PYTHONUNBUFFERED: '1',
  ...extra,
});

/**
 * Training on this machine: a virtual environment for the requirements (if
 * any), then `<python> -u script.py` in the job's output directory, as the
 * leader of its own process group (so stop() reaches every child), inside a
 * memory cgroup when a memory limit was asked for and one is writable.
 */
export class LocalTrainer implements Trainer {
  readonly local = true;
  private readonly envs: PythonEnvs;

  constructor(private readonly settings: LocalTrainerSettings) {
    this.envs = new PythonEnvs(settings.venvsDir);
  }

  start(run: TrainingRun): TrainingHandle {
    let current: GroupProcess | undefined;
    let stopped = false;
    const tail = new Tail();
    const { files } = run;
    const env = scriptEnv({
      CORRAL_OUTPUT_DIR: files.outputDir,
      CORRAL_MODEL_PATH: join(files.outputDir, run.outputFile),
      CORRAL_JOB_ID: run.id,
      MODEL_NAME: run.outputFile,
      TAG: run.tag,
      ...(files.dataset ? { CORRAL_DATASET: files.dataset } : {}),
      // A CPU count caps the threads of the usual numeric libraries (no cgroup CPU quota).
      ...(run.options.cpus ? Object.fromEntries(['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'].map((k) => [k, String(run.options.cpus)])) : {}),
      ...(run.options.gpus === 0 ? { CUDA_VISIBLE_DEVICES: '' } : {}),
    });
    const spawnStep = (command: string, args: string[], keepStdout: boolean) => {
      current = spawnGroup(command, args, {
        cwd: files.outputDir, env,
        onOutput: (stream, text) => {
          run.output(stream, text);
          if (stream === 'stderr' || keepStdout) tail.push(text);
        },
      });
      if (stopped) current.stop(this.settings.killGraceMs);
      return current.exited;
    };

    const done = (async (): Promise<TrainingOutcome> => {
      let python = this.settings.python;
      if (files.requirements) {
        await run.enter('installing');
        try {
          python = await this.envs.ensure(python, files.requirements, this.settings.pipArgs,
            async (command, args) => (stopped ? 143 : (await spawnStep(command, args, true)).exitCode), run.note);
        } catch (err) {
          if (stopped) return { kind: 'stopped' };
          if (!(err instanceof SetupFailed)) throw err;
          return { kind: 'exited', exitCode: null, error: `installing requirements failed: ${err.message}:\n${tail.lines(ERROR_LINES)}` };
        }
      }
      if (stopped) return { kind: 'stopped' };
      await run.enter('running');
      tail.clear();

      let cgroup: MemoryCgroup | undefined;
      if (run.memoryBytes !== null) {
        cgroup = createMemoryCgroup(`corral-train-${run.id}`, run.memoryBytes);
        if (cgroup) run.note(`memory limit ${run.options.memory} (cgroup v${cgroup.version})`);
        else run.note(`warning: no writable memory cgroup here; running without the ${run.options.memory} memory limit`);
      }
      const command = [python, '-u', files.script];
      run.note(`running ${command.join(' ')}`);
      const exit = await spawnStep(
        cgroup ? '/bin/sh' : python,
        // The shell joins the cgroup and then becomes the script, so nothing of the job runs outside it.
        cgroup ? ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', cgroup.procsFile, ...command] : command.slice(1),
        false,
      );
      const oomKilled = cgroup ? cgroup.oomKills() > 0 : false;
      await cgroup?.remove();
      if (stopped) return { kind: 'stopped' };
      if (oomKilled && exit.exitCode !== 0) return { kind: 'exited', exitCode: exit.exitCode, error: `killed: out of memory (limit ${run.options.memory})` };
      if (exit.exitCode === 0) return { kind: 'exited', exitCode: 0, error: null };
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
      const stderr = tail.lines(ERROR_LINES);
      return { kind: 'exited', exitCode: exit.exitCode, error: `the script ${how}${stderr ? `; the end of its stderr:\n${stderr}` : ' (nothing on stderr)'}` };
    })();

    return {
      done,
      stop: () => {
        stopped = true;
        current?.stop(this.settings.killGraceMs);
      },
    };
  }
}
