/**
 * Runs a service as a Slurm batch job on a profile's cluster. The Slurm
 * commands (sbatch, squeue, scontrol, sacct, scancel) run through a
 * CommandRunner: here when the profile's host is localhost, over SSH on the
 * login node otherwise. Batch scripts and job logs go to workDir on the
 * cluster side.
 *
 * status() asks squeue while the job is queued or running, then scontrol
 * (which keeps a finished job for MinJobAge seconds), then sacct when
 * accounting is enabled. A job none of them knows is FAILED, 'job not found'.
 * When a Slurm command itself fails (controller down, SSH unreachable) it
 * throws instead of reporting, so a transient outage never reads as a dead job.
 */
import type { BackendState, JobReport, LaunchResult, LaunchSpec, Launcher } from './launcher.js';
import type { Profile } from '../profiles/profile.js';
import type { CommandResult, CommandRunner } from './command-runner.js';
import { assertWorkDir, jobPaths, renderSbatchScript, sbatchOptions } from './sbatch-script.js';
import { PAUSED_SLURM_STATES, describeExitCode, mapSlurmState, normalizeSlurmState } from './slurm-state.js';

export interface SlurmLauncherOptions {
  profile: Profile;
  runner: CommandRunner;
  /** Absolute directory on the cluster side for batch scripts and job logs. Default: <profile.homeDir>/corral-jobs. */
  workDir?: string;
  /** Lines of a failed job's log put in the FAILED reason (default 20). */
  logTailLines?: number;
}

/** A Slurm command that did not do its job (as opposed to a job that did not). */
export class SlurmCommandError extends Error {
  readonly command: readonly string[];
  readonly result: CommandResult;

  constructor(what: string, command: readonly string[], result: CommandResult) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    super(`${what}: \`${command.join(' ')}\` exited with ${result.code}${detail ? `: ${detail}` : ''}`);
    this.name = 'SlurmCommandError';
    this.command = command;
    this.result = result;
  }
}

/**
 * Writes the batch script (standard input) to "$2" in directory "$1", readable
 * by its owner only: it exports the job's launch token. umask 077 makes a new
 * directory and file private from the start; an old script is removed rather
 * than overwritten (it would keep its mode), noclobber refuses a file that
 * reappears meanwhile, and chmod covers a default ACL that overrides the umask.
 * The script travels on stdin, so the token is on no command line (ssh's included).
 */
export const WRITE_SCRIPT = 'umask 077 && mkdir -p -- "$1" && rm -f -- "$2" && set -C && cat > "$2" && chmod 600 -- "$2"';

/**
 * Prints "<start> <end>" and then bytes start..end of file "$1": from offset
 * "$2" (or, when it is negative, the last "$3" bytes), at most "$3" of them.
 * A file shorter than the offset was rewritten (a requeued or restarted job):
 * it is read from its start. A missing file is "0 0", nothing else.
 */
export const READ_LOG = [
  'f=$1; off=$2; max=$3',
  '[ -f "$f" ] || { echo "0 0"; exit 0; }',
  'size=$(wc -c < "$f" | tr -d " ")',
  'if [ "$off" -lt 0 ]; then off=$((size > max ? size - max : 0)); elif [ "$off" -gt "$size" ]; then off=0; fi',
  'end=$((size - off > max ? off + max : size))',
  'echo "$off $end"',
  'tail -c +$((off + 1)) -- "$f" | head -c $((end - off))',
].join('\n');

export const JOB_ID = /^\d+(?:_\d+)?(?:\+\d+)?$/;
export const INVALID_JOB = /invalid job id/i;
export const ALREADY_DONE = /already completing or completed|job\/step already|invalid job id/i;

/** scancel; a job that has already ended (or that Slurm forgot) counts as cancelled. Throws when scancel itself fails. */
export async function cancelSlurmJob(runner: CommandRunner, jobId: string): Promise<void> {
  const scancel = ['scancel', jobId];
  const result = await runner.run(scancel);
  if (result.code !== 0 && !ALREADY_DONE.test(result.stderr)) throw new SlurmCommandError('scancel failed', scancel, result);
}

/** Splits `scontrol -o show job` output (Key=Value pairs on one line) into fields. */
export function parseScontrolJob(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  // Split before each ' Key=' so that values with spaces (e.g. Reason, Comment) stay whole.
  for (const part of line.trim().split(/ +(?=[A-Za-z][A-Za-z0-9/:_.-]*=)/)) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return fields;
}

/** Parses one `squeue -h -o '%T|%R|%N'` line. */
export function parseSqueueLine(line: string): { state: string; reason: string; nodes: string } {
  const [state = '', reason = '', nodes = ''] = line.trim().split('|');
  return { state: state.trim(), reason: reason.trim(), nodes: nodes.trim() };
}

function meaningful(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().replace(/^\((.*)\)$/, '$1').trim();
  return v === '' || /^(none|null|n\/a|unknown)$/i.test(v) ? undefined : v;
}

interface FinalInfo {
  rawState: string;
  reason?: string;
  exitCode?: string;
  node?: string;
  logPath?: string;
  timeLimit?: string;
}

export class SlurmLauncher implements Launcher {
  readonly type = 'slurm';
  readonly profile: Profile;
  readonly runner: CommandRunner;
  readonly workDir: string;
  readonly #logTailLines: number;
  /** Log file of each job this launcher submitted, for when scontrol no longer says. */
  readonly #logs = new Map<string, string>();

  constructor(options: SlurmLauncherOptions) {
    this.profile = options.profile;
    this.runner = options.runner;
    const workDir = options.workDir ?? (options.profile.homeDir ? `${options.profile.homeDir.replace(/\/+$/, '')}/corral-jobs` : undefined);
    if (workDir === undefined) {
      throw new Error(`Slurm profile '${options.profile.name}' needs a home directory (or a work directory) for job scripts and logs`);
    }
    assertWorkDir(workDir);
    this.workDir = workDir.length > 1 ? workDir.replace(/\/+$/, '') : workDir;
    this.#logTailLines = options.logTailLines ?? 20;
  }

  /** The batch script launch() would submit for a spec. */
  renderScript(spec: LaunchSpec): string {
    return renderSbatchScript(spec, sbatchOptions(spec, this.profile, this.workDir));
  }

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    const script = this.renderScript(spec);
    const paths = jobPaths(this.workDir, spec.serviceId);
    const write = ['sh', '-c', WRITE_SCRIPT, 'sh', this.workDir, paths.script];
    const written = await this.runner.run(write, { input: script });
    if (written.code !== 0) throw new SlurmCommandError(`cannot write the batch script on ${this.runner.target}`, write, written);

    const submit = ['sbatch', '--parsable', paths.script];
    const submitted = await this.runner.run(submit);
    // --parsable prints '<jobid>' or '<jobid>;<cluster>'.
    const line = submitted.stdout.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
    const jobId = line.split(';')[0]!.trim();
    if (submitted.code !== 0 || !JOB_ID.test(jobId)) throw new SlurmCommandError('sbatch failed', submit, submitted);
    this.#logs.set(jobId, paths.log);
    return { jobId };
  }

  async status(jobId: string): Promise<JobReport> {
    this.#assertJobId(jobId);

    const squeue = ['squeue', '-h', '-j', jobId, '-o', '%T|%R|%N'];
    const queued = await this.runner.run(squeue);
    let fromSqueue: FinalInfo | undefined;
    if (queued.code === 0 && queued.stdout.trim() !== '') {
      const row = parseSqueueLine(queued.stdout.trim().split('\n')[0]!);
      const state = mapSlurmState(row.state);
      if (state === 'SUBMITTED' || state === 'STARTING' || state === undefined) {
        return this.#liveReport(row.state, state, row.reason, row.nodes);
      }
      // A finished job squeue still lists: scontrol has its exit code.
      fromSqueue = { rawState: row.state, ...optional('reason', meaningful(row.reason)), ...optional('node', meaningful(row.nodes)) };
    } else if (queued.code !== 0 && !INVALID_JOB.test(queued.stderr)) {
      throw new SlurmCommandError('squeue failed', squeue, queued);
    }

    const scontrol = ['scontrol', '-o', 'show', 'job', jobId];
    const shown = await this.runner.run(scontrol);
    if (shown.code === 0 && shown.stdout.trim() !== '') {
      const f = parseScontrolJob(shown.stdout.trim().split('\n')[0]!);
      const rawState = f['JobState'] ?? '';
      const state = mapSlurmState(rawState);
      if (state === 'SUBMITTED' || state === 'STARTING' || state === undefined) {
        return this.#liveReport(rawState, state, f['Reason'], f['NodeList']);
      }
      return this.#finalReport({
        rawState,
        ...optional('reason', meaningful(f['Reason'])),
        ...optional('exitCode', f['ExitCode']),
        ...optional('node', meaningful(f['NodeList'])),
        ...optional('logPath', meaningful(f['StdOut']) ?? this.#logs.get(jobId)),
        ...optional('timeLimit', meaningful(f['TimeLimit'])),
      });
    }
    if (shown.code !== 0 && !INVALID_JOB.test(shown.stderr)) throw new SlurmCommandError('scontrol show job failed', scontrol, shown);

    const fromSacct = await this.#sacct(jobId);
    if (fromSacct) return fromSacct;
    if (fromSqueue) return this.#finalReport({ ...fromSqueue, ...optional('logPath', this.#logs.get(jobId)) });
    return { state: 'FAILED', reason: 'job not found' };
  }

  /**
   * Reads a service's job log (the file this launcher names for the service in
   * its work directory; see ServiceLogs). Bytes from `offset` on, at most `maxBytes`.
   */
  async readLog(serviceId: string, offset: number, maxBytes: number): Promise<{ start: number; next: number; text: string }> {
    const { log } = jobPaths(this.workDir, serviceId);
    const read = ['sh', '-c', READ_LOG, 'sh', log, String(Math.trunc(offset)), String(Math.max(1, Math.trunc(maxBytes)))];
    const result = await this.runner.run(read);
    const newline = result.stdout.indexOf('\n');
    const head = /^(\d+) (\d+)$/.exec(result.stdout.slice(0, newline < 0 ? undefined : newline));
    if (result.code !== 0 || !head) throw new SlurmCommandError(`cannot read the job log ${log}`, read, result);
    return { start: Number(head[1]), next: Number(head[2]), text: newline < 0 ? '' : result.stdout.slice(newline + 1) };
  }

  async stop(jobId: string): Promise<void> {
    this.#assertJobId(jobId);
    await cancelSlurmJob(this.runner, jobId);
  }

  #assertJobId(jobId: string): void {
    if (!JOB_ID.test(jobId)) throw new Error(`invalid Slurm job id ${JSON.stringify(jobId)}`);
  }

  #liveReport(rawState: string, state: BackendState | undefined, reason: string | undefined, nodes: string | undefined): JobReport {
    const raw = normalizeSlurmState(rawState);
    if (state === undefined) {
      // A state this code does not know (a newer Slurm): the job exists, but whether it waits or runs is unknown.
      // STARTING never moves a service backwards (only SUBMITTED, a job back in the queue, drops its endpoint).
      return { state: 'STARTING', reason: `unrecognized Slurm job state ${raw || '(empty)'}` };
    }
    const report: JobReport = { state };
    const node = meaningful(nodes);
    if (node) report.node = node;
    // For a pending job %R is why it waits (Resources, Priority, BeginTime, ...); for a running one it is the node list.
    const why = state === 'SUBMITTED' ? meaningful(reason) : undefined;
    if (state === 'SUBMITTED') report.reason = why ? `${raw}: ${why}` : raw;
    else if (PAUSED_SLURM_STATES.has(raw)) report.reason = `job ${raw} by Slurm: it does not answer until Slurm resumes it`;
    return report;
  }

  async #finalReport(info: FinalInfo): Promise<JobReport> {
    const raw = normalizeSlurmState(info.rawState);
    const state = mapSlurmState(raw) ?? 'FAILED';
    const exit = describeExitCode(info.exitCode);
    const parts: string[] = [];
    switch (raw) {
      case 'COMPLETED':
        parts.push('job completed');
        break;
      case 'CANCELLED':
        parts.push('job cancelled');
        break;
      case 'TIMEOUT':
        parts.push(`job reached its time limit${info.timeLimit ? ` (${info.timeLimit})` : ''}`);
        break;
      default:
        parts.push(`Slurm job ${raw}`);
    }
    if (exit) parts.push(exit);
    if (info.reason && !/^(NonZeroExitCode|TimeLimit)$/.test(info.reason)) parts.push(`reason: ${info.reason}`);
    let reason = parts.join(', ');
    if (raw === 'FAILED' && info.logPath) {
      const tail = await this.#tail(info.logPath);
      if (tail) reason += `\nlast lines of ${info.logPath}:\n${tail}`;
    }
    const report: JobReport = { state, reason };
    if (info.node) report.node = info.node;
    return report;
  }

  async #sacct(jobId: string): Promise<JobReport | undefined> {
    const sacct = ['sacct', '-n', '-P', '-X', '-j', jobId, '-o', 'State,ExitCode,NodeList'];
    const result = await this.runner.run(sacct);
    // No sacct, or accounting disabled ("Slurm accounting storage is disabled"): nothing to add.
    if (result.code !== 0) return undefined;
    const line = result.stdout.split('\n').find((l) => l.trim() !== '');
    if (!line) return undefined;
    const [rawState = '', exitCode = '', nodes = ''] = line.split('|');
    const state = mapSlurmState(rawState);
    if (state === 'SUBMITTED' || state === 'STARTING' || state === undefined) {
      return this.#liveReport(rawState, state, undefined, nodes);
    }
    return this.#finalReport({
      rawState,
      exitCode,
      ...optional('node', meaningful(nodes)),
      ...optional('logPath', this.#logs.get(jobId)),
    });
  }

  async #tail(path: string): Promise<string | undefined> {
    const result = await this.runner.run(['tail', '-n', String(this.#logTailLines), '--', path]).catch(() => undefined);
    if (!result || result.code !== 0) return undefined;
    const text = result.stdout.replace(/\s+$/, '');
    return text === '' ? undefined : text;
  }
}

/** `{ [key]: value }` when value is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly spreads). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
