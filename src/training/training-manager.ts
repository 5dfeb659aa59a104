import { randomUUID } from 'node:crypto';
import { appendFileSync, createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CorralError } from '../errors/index.js';
import type { Profile, ProfileStore } from '../profiles/index.js';
import type { ModelRepository } from '../repository/index.js';
import type { Db } from '../store/index.js';
import { LocalTrainer } from './local-trainer.js';
import type { Trainer, TrainingHandle, TrainingOutcome } from './trainer.js';
import { isFinal, jobView, type TrainingFiles, type TrainingJobView, type TrainingOptions, type TrainingState } from './training-job.js';
import { TrainingStore } from './training-store.js';

/** The training settings, from the environment (CORRAL_TRAIN_*). */
export interface TrainingSettings {
  python: string;
  pipArgs: string[];
  defaultTimeoutMinutes: number;
  concurrency: number;
  killGraceMs: number;
}

export function trainingSettingsFrom(env: NodeJS.ProcessEnv = process.env): TrainingSettings {
  const positive = (name: string, fallback: number, integer: boolean) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!(value > 0) || (integer && !Number.isInteger(value))) throw new Error(`${name} must be a ${integer ? 'whole ' : ''}number above 0; got '${raw}'.`);
    return value;
  };
  return {
    python: env.CORRAL_TRAIN_PYTHON?.trim() || 'python3',
    pipArgs: (env.CORRAL_TRAIN_PIP_ARGS ?? '').split(' ').filter((a) => a !== ''),
    defaultTimeoutMinutes: positive('CORRAL_TRAIN_TIMEOUT_MINUTES', 60, false),
    concurrency: positive('CORRAL_TRAIN_CONCURRENCY', 1, true),
    killGraceMs: positive('CORRAL_TRAIN_KILL_GRACE_MS', 5000, true),
  };
}

export interface TrainingDeps {
  db: Db;
  home: string;
  repository: ModelRepository;
  profiles: ProfileStore;
  logger: Logger;
  settings: TrainingSettings;
}

/** A new job as the route hands it over: its files are in the directory prepare() gave. */
export interface TrainingSubmission {
  id: string;
  tag: string;
  /** The file the script writes (".onnx" added already). */
  modelName: string;
  profile: Profile;
  options: TrainingOptions;
  memoryBytes: number | null;
  requirements: { path: string; sha256: string } | null;
  dataset: string | null;
}

interface Active {
  state: TrainingState;
  handle?: TrainingHandle;
  /** Why it was stopped, when it was. */
  stopping?: 'timeout' | 'cancelled' | 'failed';
  timer?: NodeJS.Timeout;
  followers: Set<Follower>;
}

interface Follower { write(text: string): void; end(): void }

const LOG_FILE = 'train.log';

/**
 * Training jobs: the queue (CORRAL_TRAIN_CONCURRENCY at a time, the rest
 * queued), their states in SQLite, their logs in files (followed live), the
 * time limit and cancel, and registering the output in the repository. What
 * runs the script is the profile's Trainer (LocalTrainer for `local`).
 */
export class TrainingManager {
  readonly settings: TrainingSettings;
  private readonly store: TrainingStore;
  private readonly jobsDir: string;
  private readonly queue: TrainingSubmission[] = [];
  private readonly active = new Map<string, Active>();
  private readonly runs = new Set<Promise<void>>();
  private readonly local: Trainer;
  private closed = false;

  private constructor(private readonly deps: TrainingDeps) {
    this.settings = deps.settings;
    this.store = new TrainingStore(deps.db);
    this.jobsDir = join(deps.home, 'training', 'jobs');
    this.local = new LocalTrainer({
      python: deps.settings.python, pipArgs: deps.settings.pipArgs, killGraceMs: deps.settings.killGraceMs,
      venvsDir: join(deps.home, 'training', 'venvs'),
    });
  }

  /** Opens the manager; jobs a previous gateway left unfinished are failed first. */
  static async open(deps: TrainingDeps): Promise<TrainingManager> {
    const manager = new TrainingManager(deps);
    const failed = await manager.store.failInterrupted(new Date().toISOString());
    if (failed > 0) deps.logger.warn({ jobs: failed }, 'training jobs left unfinished by the last gateway were marked failed');
    return manager;
  }

  /** The trainer for a profile; only local profiles train for now. */
  trainerFor(profile: Profile): Trainer {
    if (profile.type === 'local') return this.local;
    throw new CorralError('BAD_REQUEST', `training on ${profile.type} profiles is not supported yet; use a local profile.`);
  }

  /** A new job id and its directory, for the route to put the uploaded files in. */
  async prepare(): Promise<{ id: string; dir: string }> {
    const id = randomUUID();
    const dir = join(this.jobsDir, id);
    await mkdir(join(dir, 'output'), { recursive: true });
    return { id, dir };
  }

  /** Removes a job directory prepare() made for a request that was refused. */
  async discard(id: string): Promise<void> {
    await rm(join(this.jobsDir, id), { recursive: true, force: true });
  }

  filesOf(id: string, submission?: Pick<TrainingSubmission, 'requirements' | 'dataset'>): TrainingFiles {
    const dir = join(this.jobsDir, id);
    return {
      dir, script: join(dir, 'script.py'), requirements: submission?.requirements ?? null, dataset: submission?.dataset ?? null,
      outputDir: join(dir, 'output'), log: join(dir, LOG_FILE),
    };
  }

  async submit(job: TrainingSubmission): Promise<TrainingJobView> {
    if (this.closed) throw new CorralError('SERVICE_NOT_READY', 'The gateway is shutting down; submit the training job again once it is back.');
    this.trainerFor(job.profile);
    const row = {
      id: job.id, tag: job.tag, model_name: job.modelName, state: 'queued', profile: job.profile.name,
      options_json: JSON.stringify(job.options), requirements_sha256: job.requirements?.sha256 ?? null, has_dataset: job.dataset ? 1 : 0,
      created_at: new Date().toISOString(), started_at: null, finished_at: null, exit_code: null, error: null, model_version: null,
    };
    await this.store.insert(row);
    this.active.set(job.id, { state: 'queued', followers: new Set() });
    this.note(job.id, `job ${job.id} queued: ${job.modelName} → ${job.tag} on profile ${job.profile.name}`);
    this.queue.push(job);
    this.pump();
    return jobView(row);
  }

  async list(): Promise<TrainingJobView[]> {
    return (await this.store.list()).map(jobView);
  }

  async get(id: string): Promise<TrainingJobView> {
    const row = await this.store.get(id);
    if (!row) throw new CorralError('TRAINING_JOB_NOT_FOUND', `No training job '${id.slice(0, 64)}'; GET /api/v1/train/jobs lists them.`);
    return jobView(row);
  }

  /** Cancels a queued or running job: its processes get SIGTERM, then SIGKILL. */
  async cancel(id: string): Promise<TrainingJobView> {
    const job = await this.get(id);
    const active = this.active.get(id);
    if (!active || isFinal(job.state) || active.state === 'validating') {
      throw new CorralError('TRAINING_JOB_FINISHED', `Training job ${id} is ${active?.state ?? job.state}; only a queued, installing or running job can be cancelled.`);
    }
    const queued = this.queue.findIndex((q) => q.id === id);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await this.finish(id, { state: 'cancelled', error: 'cancelled before it started' });
      return this.get(id);
    }
    this.stop(id, 'cancelled');
    // The state changes once the processes are gone.
    await this.settled(id);
    return this.get(id);
  }

  /** The log so far (stdout and stderr as they came, with Corral's "[corral]" lines). */
  async log(id: string): Promise<string> {
    await this.get(id);
    const path = this.filesOf(id).log;
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /**
   * Follows a job's log: write() gets the log so far and then each new piece,
   * end() once the job has ended. Returns the unsubscribe function. The log so
   * far is read in the same tick the follower is added (and logs are appended
   * synchronously), so nothing is missed or repeated.
   */
  async follow(id: string, write: (text: string) => void, end: () => void): Promise<() => void> {
    await this.get(id);
    const path = this.filesOf(id).log;
    const sofar = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (sofar) write(sofar);
    const active = this.active.get(id);
    if (!active) {
      end();
      return () => undefined;
    }
    const follower = { write, end };
    active.followers.add(follower);
    return () => active.followers.delete(follower);
  }

  /** Stops every job (they become failed: the gateway stopped) and waits for their processes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) await this.finish(job.id, { state: 'failed', error: 'the gateway stopped while the job was queued' });
    for (const [id, active] of this.active) if (active.handle) this.stop(id, 'failed');
    await Promise.allSettled([...this.runs]);
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.runningCount() < this.settings.concurrency) {
      const job = this.queue.shift()!;
      const run = this.run(job).catch((err: Error) => {
        this.deps.logger.error({ err, job: job.id }, 'training job failed unexpectedly');
        return this.finish(job.id, { state: 'failed', error: `internal error: ${err.message}` }).catch(() => undefined);
      }).finally(() => {
        this.runs.delete(run);
        this.pump();
      });
      this.runs.add(run);
    }
  }

  private runningCount(): number {
    return [...this.active.values()].filter((a) => a.state !== 'queued').length;
  }

  private async run(job: TrainingSubmission): Promise<void> {
    const active = this.active.get(job.id)!;
    const files = this.filesOf(job.id, job);
    const started = new Date().toISOString();
    active.state = 'installing';
    await this.store.update(job.id, { started_at: started });
    const handle = this.trainerFor(job.profile).start({
      id: job.id, tag: job.tag, outputFile: job.modelName, options: job.options, memoryBytes: job.memoryBytes, files,
      output: (_stream, text) => this.append(job.id, text),
      note: (line) => this.note(job.id, line),
      enter: (state) => this.enter(job.id, state),
    });
    active.handle = handle;
    // The time limit covers the whole job, installing included.
    active.timer = setTimeout(() => {
      this.note(job.id, `time limit of ${job.options.timeout_minutes} minutes reached: stopping the job`);
      this.stop(job.id, 'timeout');
    }, job.options.timeout_minutes * 60_000);
    active.timer.unref();
    if (active.stopping) handle.stop();

    let outcome: TrainingOutcome;
    try {
      outcome = await handle.done;
    } finally {
      clearTimeout(active.timer);
    }
    if (active.stopping || outcome.kind === 'stopped') {
      const reason = active.stopping ?? 'cancelled';
      const error = reason === 'timeout' ? `timed out after ${job.options.timeout_minutes} minutes (timeout_minutes)`
        : reason === 'cancelled' ? 'cancelled by a request' : `the gateway stopped while the job was ${active.state}`;
      await this.finish(job.id, { state: reason, error, exit_code: outcome.kind === 'exited' ? outcome.exitCode : null });
      return;
    }
    if (outcome.error !== null) {
      await this.finish(job.id, { state: 'failed', error: outcome.error, exit_code: outcome.exitCode });
      return;
    }
    await this.register(job, files, outcome.exitCode);
  }

  /** Validates the output through the repository's normal upload path; a refusal leaves the served version as it was. */
  private async register(job: TrainingSubmission, files: TrainingFiles, exitCode: number | null): Promise<void> {
    await this.enter(job.id, 'validating');
    const candidates = [job.modelName, job.modelName.replace(/\.onnx$/i, '')];
    const found = candidates.map((name) => join(files.outputDir, name)).find((path) => existsSync(path));
    if (!found) {
      const listed = safeList(files.outputDir);
      await this.finish(job.id, {
        state: 'failed', exit_code: exitCode,
        error: `the script ended without writing ${job.modelName} in CORRAL_OUTPUT_DIR (it holds ${listed.length === 0 ? 'no files' : listed.slice(0, 20).join(', ')})`,
      });
      return;
    }
    this.note(job.id, `registering ${job.modelName} as ${job.tag}`);
    try {
      const model = await this.deps.repository.upload(job.tag, createReadStream(found));
      await this.finish(job.id, { state: 'registered', exit_code: exitCode, model_version: model.version });
    } catch (err) {
      const message = err instanceof CorralError ? `${err.code}: ${err.message}` : (err as Error).message;
      await this.finish(job.id, { state: 'failed', exit_code: exitCode, error: `the repository refused ${job.modelName}: ${message}` });
    }
  }

  private stop(id: string, reason: 'timeout' | 'cancelled' | 'failed'): void {
    const active = this.active.get(id);
    if (!active || active.stopping) return;
    active.stopping = reason;
    active.handle?.stop();
  }

  /** Resolves once the job has left the active set (or at once when it is not in it). */
  private async settled(id: string): Promise<void> {
    while (this.active.has(id)) await new Promise((r) => setTimeout(r, 50));
  }

  private async enter(id: string, state: TrainingState): Promise<void> {
    const active = this.active.get(id);
    if (active) active.state = state;
    await this.store.update(id, { state });
    this.note(id, `state: ${state}`);
  }

  /** Records the end of a job, writes its last log line, and ends the log's followers. */
  private async finish(id: string, patch: { state: TrainingState; error?: string | null; exit_code?: number | null; model_version?: number }): Promise<void> {
    await this.store.update(id, { ...patch, finished_at: new Date().toISOString() });
    const detail = patch.state === 'registered' ? ` (version ${patch.model_version})` : patch.error ? ` (${patch.error.split('\n')[0]})` : '';
    this.note(id, `state: ${patch.state}${detail}`);
    const active = this.active.get(id);
    this.active.delete(id);
    for (const follower of active?.followers ?? []) follower.end();
  }

  private note(id: string, line: string): void {
    this.append(id, `[corral] ${line}\n`);
  }

  private append(id: string, text: string): void {
    try {
      appendFileSync(this.filesOf(id).log, text);
    } catch (err) {
      this.deps.logger.warn({ job: id, err: (err as Error).message }, 'could not write the training log');
    }
    const active = this.active.get(id);
    for (const follower of active?.followers ?? []) follower.write(text);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
