/**
 * Runs a command on the machine where a launcher's scheduler lives: here
 * (child_process, no shell) or on a login node over SSH (key-based, never a
 * password prompt). Both take the same argv; the SSH runner quotes each
 * argument for the remote login shell, so what arrives there is exactly the
 * argv given here.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when the process was killed by a signal or could not start. */
  code: number;
  /** Signal that ended the process, if any. */
  signal?: NodeJS.Signals | null;
  /** True when the process was killed because it ran past its timeout. */
  timedOut?: boolean;
}

export interface RunOptions {
  /** Milliseconds before the process is killed (SIGKILL). Default: the runner's default (30 s). */
  timeoutMs?: number;
  /** Written to the process's standard input, which is then closed (bytes as they are: a staged file). */
  input?: string | Uint8Array;
}

export interface CommandRunner {
  /** 'localhost', or user@host for SSH. */
  readonly target: string;
  readonly remote: boolean;
  /** Runs argv[0] with the remaining arguments. Never rejects for a non-zero exit: check `code`. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export interface CommandRunnerOptions {
  /** 'localhost', '127.0.0.1', '::1' or undefined run commands here; anything else runs them over SSH. */
  host?: string;
  /** SSH user; default: ssh's own default (the current user or ~/.ssh/config). */
  user?: string;
  port?: number;
  /** Private key file for SSH (-i). */
  identityFile?: string;
  /** Extra `-o Key=Value` options for ssh. */
  sshOptions?: readonly string[];
  /** Default timeout for each command, in milliseconds (30 000). */
  timeoutMs?: number;
  /** The ssh binary (default 'ssh'). */
  sshPath?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Output beyond this many bytes per stream is dropped (the command still runs to the end). */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '']);

export function isLocalHost(host: string | undefined): boolean {
  return host === undefined || LOCAL_HOSTS.has(host.trim().toLowerCase());
}

/**
 * Quotes one argument for a POSIX shell: single quotes around it, each
 * embedded single quote written as '\''. Plain words (letters, digits and
 * a few safe punctuation marks) are left as they are, for readable logs.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line the remote shell splits back into exactly argv. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Runs a process with a timeout, collecting stdout and stderr. */
function runProcess(file: string, args: readonly string[], timeoutMs: number, input?: string | Uint8Array): Promise<CommandResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < MAX_OUTPUT_BYTES) out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < MAX_OUTPUT_BYTES) err.push(chunk);
      errBytes += chunk.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      finish({ stdout: '', stderr: `${file}: ${error.message}`, code: -1, signal: null });
    });
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      finish({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: timedOut ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}timed out after ${timeoutMs} ms` : stderr,
        code: code ?? -1,
        signal,
        ...(timedOut ? { timedOut: true } : {}),
      });
    });
    // A command that does not read its input closes the pipe early: ignore EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export class LocalCommandRunner implements CommandRunner {
  readonly target = 'localhost';
  readonly remote = false;
  readonly #timeoutMs: number;

  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new Error('run: empty argv'));
    return runProcess(file, args, options.timeoutMs ?? this.#timeoutMs, options.input);
  }
}

export class SshCommandRunner implements CommandRunner {
  readonly target: string;
  readonly remote = true;
  readonly #options: CommandRunnerOptions & { host: string };
  readonly #timeoutMs: number;

  constructor(options: CommandRunnerOptions & { host: string }) {
    if (!options.host || /\s/.test(options.host) || options.host.startsWith('-')) {
      throw new Error(`invalid SSH host: ${JSON.stringify(options.host)}`);
    }
    if (options.user !== undefined && (/[\s@]/.test(options.user) || options.user.startsWith('-') || options.user === '')) {
      throw new Error(`invalid SSH user: ${JSON.stringify(options.user)}`);
    }
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.target = options.user ? `${options.user}@${options.host}` : options.host;
  }

  /** The full ssh argv for a remote argv: `ssh -o BatchMode=yes ... user@host -- '<quoted command>'`. */
  sshArgv(argv: readonly string[]): string[] {
    const o = this.#options;
    const args = [o.sshPath ?? 'ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new'];
    if (o.port !== undefined) args.push('-p', String(o.port));
    if (o.identityFile !== undefined) args.push('-i', o.identityFile);
    for (const opt of o.sshOptions ?? []) args.push('-o', opt);
    args.push(this.target, '--', shellJoin(argv));
    return args;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) return Promise.reject(new Error('run: empty argv'));
    const [file, ...args] = this.sshArgv(argv);
    return runProcess(file!, args, options.timeoutMs ?? this.#timeoutMs, options.input);
  }
}

/** A runner for a profile's host: local for localhost/127.0.0.1/undefined, SSH otherwise. */
export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  if (isLocalHost(options.host)) {
    return new LocalCommandRunner(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
  }
  return new SshCommandRunner({ ...options, host: options.host!.trim() });
}
