import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface GroupExit {
  /** The exit code, or 128 + the signal's number when a signal ended it (as a shell reports it). */
  exitCode: number;
  signal: NodeJS.Signals | null;
}

export interface GroupProcess {
  pid: number | undefined;
  /** Settles once the process has exited and its output is read (its group is killed then, so no child lingers). */
  exited: Promise<GroupExit>;
  /** SIGTERM to the whole group, then SIGKILL after graceMs to whatever is left. */
  stop(graceMs: number): void;
}

export interface GroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
}

/** Sends a signal to a process group; a group that is gone already is no error. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Runs a command as the leader of a new process group (spawn detached), so a
 * timeout or a cancel reaches every process it started, not only the first.
 */
export function spawnGroup(command: string, args: string[], options: GroupOptions): GroupProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (text: string) => options.onOutput('stdout', text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => options.onOutput('stderr', text));
  let killTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<GroupExit>((resolve) => {
    child.on('error', (err) => {
      options.onOutput('stderr', `cannot run ${command}: ${err.message}\n`);
      resolve({ exitCode: 127, signal: null });
    });
    // A child the command left behind would keep the pipes open: the group ends with its leader.
    child.on('exit', () => signalGroup(child.pid, 'SIGKILL'));
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      resolve({ exitCode: code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0), signal });
    });
  });
  return {
    pid: child.pid,
    exited,
    stop(graceMs) {
      signalGroup(child.pid, 'SIGTERM');
      clearTimeout(killTimer);
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
      killTimer.unref();
    },
  };
}
