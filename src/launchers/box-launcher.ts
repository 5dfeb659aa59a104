/**
 * Runs a service on a box (a gce, ec2 or command profile): the box is started
 * through its provider when it is not running, then `corral host` is started on
 * it over SSH, in the background, as on a Slurm login node; the host registers
 * with the gateway like a Slurm job does. A job id is `<instance>:<pid>`.
 *
 * What status() reports comes from the provider first (liveness is the cloud's
 * word, not SSH retries): a PREEMPTED box makes its services PREEMPTED (the
 * BoxRestarter starts them again), a box stopped or lost under them ends them.
 * Only while the box runs is the host's process checked, over SSH.
 */
import type { BoxController } from '../boxes/box-controller.js';
import type { BoxStatus } from '../boxes/box-provider.js';
import { instancesOf, type Profile } from '../profiles/index.js';
import { shellJoin, shellQuote, type CommandRunner } from './command-runner.js';
import type { JobReport, LaunchResult, LaunchSpec, Launcher } from './launcher.js';
import { assertServiceId, assertWorkDir } from './sbatch-script.js';

export interface BoxLauncherOptions {
  profile: Profile;
  boxes: BoxController;
  /** Commands on a box, over SSH to its address (with the profile's user, port and key). */
  runnerFor: (address: string) => CommandRunner;
  /** Whether any other active service runs on the box (so stopping this one must not stop the box). */
  boxInUse: (profile: string, instance: string, exceptJobId: string) => boolean;
  /** How long a box may take to be RUNNING (default 10 minutes). */
  bootTimeoutMs?: number;
  /** How long sshd on a box that just came up may take to answer (default 2 minutes). */
  sshTimeoutMs?: number;
  /** Between polls of a starting box (default 2 s). */
  pollMs?: number;
}

/**
 * Writes the launch script (standard input) to "$2" in "$1", private to its owner
 * (it exports the service's launch token), and starts it in its own session with
 * its output in "$3"; prints the pid. The token travels on stdin only.
 */
const START_HOST = [
  'umask 077 && mkdir -p -- "$1" && rm -f -- "$2" && set -C && cat > "$2" && chmod 600 -- "$2" || exit 1',
  // >| : the log of an earlier run is replaced (noclobber is on for the script only).
  'setsid sh "$2" >| "$3" 2>&1 < /dev/null &',
  'echo $!',
].join('\n');
const IS_ALIVE = 'if kill -0 "$1" 2>/dev/null; then echo alive; else echo gone; fi';
/** SIGTERM to the host's whole session (the host and its worker processes). */
const STOP_HOST = 'kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null; exit 0';
const JOB_ID = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62}):(\d{1,10})$/;

export class BoxLauncher implements Launcher {
  readonly type = 'box';
  readonly #options: BoxLauncherOptions;
  readonly #workDir: string;
  /** Jobs stopped through this launcher: their process ending is a stop, not a failure. */
  readonly #stopped = new Set<string>();
  /** Each job's box address, so a status check need not wait for the provider to say it again. */
  readonly #addresses = new Map<string, string>();
  /** Each job's service, whose log file names it. */
  readonly #services = new Map<string, string>();

  constructor(options: BoxLauncherOptions) {
    this.#options = options;
    const home = options.profile.homeDir ?? `/home/${options.profile.user ?? 'root'}/.corral`;
    this.#workDir = `${home.replace(/\/+$/, '')}/corral-jobs`;
    assertWorkDir(this.#workDir);
  }

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    assertServiceId(spec.serviceId);
    const box = await this.#runningBox();
    const address = this.#options.profile.host ?? box.address;
    if (!address) throw new Error(`box '${box.instance}' is RUNNING but its provider gives no address; set host in profile '${this.#options.profile.name}'`);
    const runner = this.#options.runnerFor(address);
    await this.#waitForSsh(runner, box.instance);
    // The host advertises the box's own address, where the gateway reaches it.
    const env = { ...spec.env, CORRAL_SERVICE_HOST_ADDRESS: address };
    const script = ['#!/bin/sh', ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`), `exec ${shellJoin(spec.command)}`, ''].join('\n');
    const base = `${this.#workDir}/${spec.serviceId}`;
    const started = await runner.run(['sh', '-c', START_HOST, 'sh', this.#workDir, `${base}.sh`, `${base}.log`], { input: script });
    const pid = started.stdout.trim();
    if (started.code !== 0 || !/^\d+$/.test(pid)) {
      throw new Error(`starting corral host on box '${box.instance}' failed: ${(started.stderr || started.stdout).trim() || `exit ${started.code}`}`);
    }
    const jobId = `${box.instance}:${pid}`;
    this.#addresses.set(jobId, address);
    this.#services.set(jobId, spec.serviceId);
    return { jobId };
  }

  async status(jobId: string): Promise<JobReport> {
    const { instance, pid } = parseJobId(jobId);
    const box = await this.#options.boxes.status(this.#options.profile.name, instance);
    switch (box.state) {
      case 'PREEMPTED':
        return { state: 'PREEMPTED', reason: box.reason ?? `box '${instance}' was preempted`, node: instance };
      case 'MISSING':
        return { state: 'FAILED', reason: `box '${instance}' no longer exists${box.reason ? ` (${box.reason})` : ''}`, node: instance };
      case 'STOPPED':
      case 'STOPPING':
        if (this.#stopped.has(jobId)) return { state: 'STOPPED', node: instance };
        return { state: 'FAILED', reason: `box '${instance}' was stopped under the service (${box.providerState ?? box.state})`, node: instance };
      case 'STARTING':
        return { state: 'STARTING', reason: `box '${instance}' is starting`, node: instance };
      case 'RUNNING':
        break;
    }
    const address = this.#options.profile.host ?? box.address ?? this.#addresses.get(jobId);
    if (!address) return { state: 'STARTING', node: instance };
    const alive = await this.#options.runnerFor(address).run(['sh', '-c', IS_ALIVE, 'sh', pid], { timeoutMs: 15_000 });
    // SSH not answering while the cloud says RUNNING: no verdict from this poll.
    if (alive.code !== 0) throw new Error(`cannot reach box '${instance}' over SSH: ${(alive.stderr || '').trim() || `exit ${alive.code}`}`);
    if (alive.stdout.trim() === 'alive') return { state: 'STARTING', node: instance };
    if (this.#stopped.has(jobId)) return { state: 'STOPPED', node: instance };
    const tail = await this.#logTail(address, jobId);
    return { state: 'FAILED', reason: `corral host (pid ${pid}) on box '${instance}' exited${tail ? `: ${tail}` : ''}`, node: instance };
  }

  /** Stops the host; the box too when no other active service runs on it. */
  async stop(jobId: string): Promise<void> {
    const { instance, pid } = parseJobId(jobId);
    this.#stopped.add(jobId);
    const box = await this.#options.boxes.status(this.#options.profile.name, instance);
    const address = this.#options.profile.host ?? box.address ?? this.#addresses.get(jobId);
    if (box.state === 'RUNNING' && address) {
      await this.#options.runnerFor(address).run(['sh', '-c', STOP_HOST, 'sh', pid], { timeoutMs: 15_000 });
    }
    if (!this.#options.boxInUse(this.#options.profile.name, instance, jobId) && (box.state === 'RUNNING' || box.state === 'STARTING')) {
      await this.#options.boxes.stop(this.#options.profile.name, instance);
    }
  }

  async readLog(serviceId: string, offset: number, maxBytes: number): Promise<{ start: number; next: number; text: string }> {
    assertServiceId(serviceId);
    // The box of the service's latest job (a service's jobs may have run on different boxes).
    const jobId = [...this.#services].filter(([, id]) => id === serviceId).at(-1)?.[0];
    const address = (jobId !== undefined ? this.#addresses.get(jobId) : undefined) ?? this.#options.profile.host;
    if (!address) return { start: 0, next: 0, text: '' };
    const log = `${this.#workDir}/${serviceId}.log`;
    const read = await this.#options.runnerFor(address).run(['sh', '-c', 'tail -c +$(($2 + 1)) -- "$1" 2>/dev/null | head -c "$3"', 'sh', log, String(Math.max(0, Math.trunc(offset))), String(Math.max(1, Math.trunc(maxBytes)))]);
    const start = Math.max(0, Math.trunc(offset));
    return { start, next: start + Buffer.byteLength(read.stdout), text: read.stdout };
  }

  /** The last lines of a job's log, for the reason of its failure. */
  async #logTail(address: string, jobId: string): Promise<string | undefined> {
    const serviceId = this.#services.get(jobId);
    if (!serviceId) return undefined;
    const tail = await this.#options.runnerFor(address).run(['tail', '-n', '20', '--', `${this.#workDir}/${serviceId}.log`], { timeoutMs: 15_000 }).catch(() => undefined);
    const text = tail?.code === 0 ? tail.stdout.trim() : '';
    return text === '' ? undefined : text;
  }

  /** A RUNNING box of the profile: one already running, else the first that can start, started and waited for. */
  async #runningBox(): Promise<BoxStatus> {
    const { profile, boxes } = this.#options;
    const all = await boxes.list(profile.name);
    const running = all.find((b) => b.state === 'RUNNING');
    if (running) return running;
    const candidate = all.find((b) => b.state === 'STARTING') ?? all.find((b) => b.state === 'STOPPED' || b.state === 'PREEMPTED');
    if (!candidate) {
      throw new Error(`no box of profile '${profile.name}' can start: ${all.map((b) => `${b.instance} ${b.state}`).join(', ') || `it lists no instances (${instancesOf(profile).join(', ')})`}`);
    }
    if (candidate.state !== 'STARTING') await boxes.start(profile.name, candidate.instance);
    return boxes.waitFor(profile.name, candidate.instance, ['RUNNING'], this.#options.bootTimeoutMs ?? 600_000, ['MISSING', 'STOPPED', 'PREEMPTED'], this.#options.pollMs ?? 2000);
  }

  /** A box that just came up may not run sshd yet; this is about boot, not liveness. */
  async #waitForSsh(runner: CommandRunner, instance: string): Promise<void> {
    const deadline = Date.now() + (this.#options.sshTimeoutMs ?? 120_000);
    for (;;) {
      const probe = await runner.run(['true'], { timeoutMs: 15_000 });
      if (probe.code === 0) return;
      if (Date.now() >= deadline) throw new Error(`box '${instance}' is RUNNING but SSH did not answer: ${probe.stderr.trim() || `exit ${probe.code}`}`);
      await new Promise((r) => setTimeout(r, this.#options.pollMs ?? 2000));
    }
  }
}

function parseJobId(jobId: string): { instance: string; pid: string } {
  const m = JOB_ID.exec(jobId);
  if (!m) throw new Error(`invalid box job id ${JSON.stringify(jobId)} (expected <instance>:<pid>)`);
  return { instance: m[1]!, pid: m[2]! };
}
