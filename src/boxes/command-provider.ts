/**
 * Boxes behind the profile's own shell commands (any cloud, a lab's power
 * switch, ...). Each command is run as `sh -c <command> corral-box <instance>`:
 * the instance reaches it only as $1 and as CORRAL_BOX_INSTANCE, never spliced
 * into the command's text, so no instance name is ever run as shell code.
 *
 * status_command prints `<STATE> [address]` on its first line, STATE being one
 * of the box states (any case) or pending/provisioning/staging (STARTING) or
 * shutting-down (STOPPING).
 */
import { spawn } from 'node:child_process';
import { BOX_STATES, type BoxProvider, type BoxState, type BoxStatus } from './box-provider.js';

export interface CommandProviderOptions {
  instances: string[];
  startCommand: string;
  stopCommand: string;
  statusCommand: string;
  /** Milliseconds before start_command is killed (10 minutes). */
  startTimeoutMs?: number;
  /** Milliseconds before stop_command is killed (10 minutes). */
  stopTimeoutMs?: number;
  /** Milliseconds before status_command is killed (60 s). */
  statusTimeoutMs?: number;
}

const WORDS: Record<string, BoxState> = {
  ...Object.fromEntries(BOX_STATES.map((s) => [s.toLowerCase(), s])),
  pending: 'STARTING',
  provisioning: 'STARTING',
  staging: 'STARTING',
  'shutting-down': 'STOPPING',
};

/** Characters of each output stream kept (its start and its end). */
const MAX_OUTPUT_CHARS = 64 * 1024;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the command could not be started (sh missing, ...). */
  spawnError?: Error;
}

/** The last lines of a command's output, for an error message. */
function tail(text: string, lines = 20, chars = 2000): string {
  const t = text.trim().split('\n').slice(-lines).join('\n');
  return t.length > chars ? `…${t.slice(-chars)}` : t;
}

/** Parses status_command's first line; undefined when it is not `<STATE> [address]`. */
export function parseStatusLine(stdout: string): { state: BoxState; word: string; address?: string } | undefined {
  const line = stdout.trim().split('\n')[0]?.trim() ?? '';
  const words = line.split(/\s+/).filter((w) => w !== '');
  if (words.length < 1 || words.length > 2) return undefined;
  const state = WORDS[words[0].toLowerCase()];
  if (state === undefined) return undefined;
  return words[1] === undefined ? { state, word: words[0] } : { state, word: words[0], address: words[1] };
}

export class CommandProvider implements BoxProvider {
  readonly type = 'command' as const;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly statusTimeoutMs: number;

  constructor(private readonly options: CommandProviderOptions) {
    this.startTimeoutMs = options.startTimeoutMs ?? 10 * 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10 * 60_000;
    this.statusTimeoutMs = options.statusTimeoutMs ?? 60_000;
  }

  async list(): Promise<BoxStatus[]> {
    const all: BoxStatus[] = [];
    for (const instance of this.options.instances) all.push(await this.status(instance));
    return all;
  }

  async status(instance: string): Promise<BoxStatus> {
    const command = this.options.statusCommand;
    const ran = await this.run(command, instance, this.statusTimeoutMs);
    this.check('status_command', command, instance, ran, this.statusTimeoutMs);
    const parsed = parseStatusLine(ran.stdout);
    if (parsed === undefined) {
      const printed = ran.stdout.trim().split('\n')[0]?.trim() ?? '';
      throw new Error(
        `status_command \`${command}\` for instance ${instance} printed ${printed === '' ? 'nothing' : `'${printed.slice(0, 200)}'`}; ` +
        `its first line must be '<STATE> [address]' with STATE one of ${BOX_STATES.join(', ')}.`,
      );
    }
    const status: BoxStatus = { instance, state: parsed.state, providerState: parsed.word };
    if (parsed.address !== undefined) status.address = parsed.address;
    return status;
  }

  async start(instance: string): Promise<BoxStatus> {
    const command = this.options.startCommand;
    this.check('start_command', command, instance, await this.run(command, instance, this.startTimeoutMs), this.startTimeoutMs);
    return this.status(instance);
  }

  async stop(instance: string): Promise<BoxStatus> {
    const command = this.options.stopCommand;
    this.check('stop_command', command, instance, await this.run(command, instance, this.stopTimeoutMs), this.stopTimeoutMs);
    return this.status(instance);
  }

  /** Throws a plain Error when the command timed out, could not run or exited non-zero. */
  private check(field: string, command: string, instance: string, ran: Ran, timeoutMs: number): void {
    const named = `${field} \`${command}\` for instance ${instance}`;
    if (ran.timedOut) throw new Error(`${named} timed out after ${timeoutMs / 1000} s and was killed.${ran.stderr.trim() ? ` Its stderr: ${tail(ran.stderr)}` : ''}`);
    if (ran.spawnError) throw new Error(`${named} could not be run: ${ran.spawnError.message}`, { cause: ran.spawnError });
    if (ran.code !== 0) {
      const how = ran.code === null ? `was killed by ${ran.signal ?? 'a signal'}` : `exited with code ${ran.code}`;
      throw new Error(`${named} ${how}${ran.stderr.trim() ? `: ${tail(ran.stderr)}` : ' and printed nothing on stderr'}`);
    }
  }

  /**
   * Runs one command with the instance as $1. The command gets its own process
   * group, so a timeout kills what it started too (a `sleep` it runs would
   * otherwise keep its output open, and the call waiting, past the timeout).
   */
  private run(command: string, instance: string, timeoutMs: number): Promise<Ran> {
    return new Promise((resolve) => {
      let timedOut = false;
      let settled = false;
      const out = { stdout: '', stderr: '' };
      const child = spawn('sh', ['-c', command, 'corral-box', instance], {
        env: { ...process.env, CORRAL_BOX_INSTANCE: instance },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const killGroup = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, timeoutMs);
      const collect = (stream: 'stdout' | 'stderr') => (chunk: string) => {
        // Keeps the start and end of a long output (the first line is the status, the last lines the error).
        const text = out[stream] + chunk;
        out[stream] = text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS / 2)}\n…\n${text.slice(-MAX_OUTPUT_CHARS / 2)}` : text;
      };
      child.stdout.setEncoding('utf8').on('data', collect('stdout'));
      child.stderr.setEncoding('utf8').on('data', collect('stderr'));
      const finish = (ran: Omit<Ran, 'stdout' | 'stderr' | 'timedOut'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...ran, ...out, timedOut });
      };
      child.on('error', (error) => finish({ code: null, signal: null, spawnError: error }));
      // 'close' waits for the output to end; a timed-out group was killed whole, so it ends.
      child.on('close', (code, signal) => finish({ code, signal }));
    });
  }
}
