import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Runs one command of the environment's setup (through the job, so a cancel or timeout stops it); resolves with its exit code. */
export type SetupStep = (command: string, args: string[]) => Promise<number>;

/**
 * Virtual environments for training scripts, one per distinct requirements
 * file (keyed by its SHA-256) under CORRAL_HOME/training/venvs, made with
 * `--system-site-packages` so what the base interpreter has (numpy, torch...)
 * is not installed again. A directory with `.ready` is complete; anything
 * else is a build that did not finish and is made again.
 */
export class PythonEnvs {
  private readonly building = new Map<string, Promise<string>>();

  constructor(private readonly dir: string) {}

  /** The interpreter of the environment for these requirements, made (and its requirements installed) when missing. */
  async ensure(python: string, requirements: { path: string; sha256: string }, pipArgs: string[], step: SetupStep, note: (line: string) => void): Promise<string> {
    const venv = join(this.dir, requirements.sha256);
    const interpreter = join(venv, 'bin', 'python');
    if (existsSync(join(venv, '.ready'))) {
      note(`using the virtual environment for these requirements (${requirements.sha256.slice(0, 12)})`);
      return interpreter;
    }
    const pending = this.building.get(requirements.sha256);
    if (pending) {
      note('waiting for another job making the virtual environment for these requirements');
      const made = await pending.catch(() => undefined);
      if (made) return made;
    }
    const build = this.build(python, venv, requirements.path, pipArgs, step, note).then(() => interpreter);
    this.building.set(requirements.sha256, build);
    try {
      return await build;
    } finally {
      if (this.building.get(requirements.sha256) === build) this.building.delete(requirements.sha256);
    }
  }

  private async build(python: string, venv: string, requirements: string, pipArgs: string[], step: SetupStep, note: (line: string) => void): Promise<void> {
    await rm(venv, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    try {
      note(`making a virtual environment: ${python} -m venv --system-site-packages`);
      const venvCode = await step(python, ['-m', 'venv', '--system-site-packages', venv]);
      if (venvCode !== 0) throw new SetupFailed(`${python} -m venv failed (exit code ${venvCode}); is the venv module installed (Debian: python3-venv)?`);
      const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', requirements, ...pipArgs];
      note(`pip install -r requirements.txt${pipArgs.length > 0 ? ` ${pipArgs.join(' ')}` : ''}`);
      const pipCode = await step(join(venv, 'bin', 'python'), args);
      if (pipCode !== 0) throw new SetupFailed(`pip install -r requirements.txt failed (exit code ${pipCode})`);
      await writeFile(join(venv, '.ready'), `${new Date().toISOString()}\n`);
    } catch (err) {
      await rm(venv, { recursive: true, force: true });
      throw err;
    }
  }
}

/** The environment could not be made; the message says which step failed (the job adds that step's output). */
export class SetupFailed extends Error {}
