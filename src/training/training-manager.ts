import { randomUUID } from 'node:crypto';
import { appendFileSync, createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { CorralError } from '../errors/index.js';
import { runnerFor } from '../launchers/launcher-for-profile.js';
import type { Profile, ProfileStore } from '../profiles/index.js';
import type { ModelRepository } from '../repository/index.js';
import { receiveUpload } from '../repository/receive-upload.js';
import { newServiceToken, tokenHashOf } from '../services/service-token.js';
import type { Db } from '../store/index.js';
import type { TrainingJobsTable } from '../store/schema.js';
import { LocalTrainer } from './local-trainer.js';
import { SlurmTrainer } from './slurm-trainer.js';
import { parseMemory } from './training-options.js';
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
  /** CORRAL_TRAIN_POLL_MS: how often a Slurm training job is looked at (state and log). */
  pollMs: number;
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
    pollMs: positive('CORRAL_TRAIN_POLL_MS', 2000, true),
  };
}

export interface TrainingDeps {
  db: Db;
  home: string;
  repository: ModelRepository;
  profiles: ProfileStore;
  logger: Logger;
  settings: TrainingSettings;
  /** The gateway's URL as cluster jobs reach it (they upload their model there). */
  gatewayUrl?: () => string;
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
  /** A cluster job's upload token, made by submit(); in memory only (the database keeps its hash). */
  uploadToken?: string;
}

interface Active {
  state: TrainingState;
  /** Runs in this gateway (takes a CORRAL_TRAIN_CONCURRENCY slot). */
  local: boolean;
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
  private readonly clusters = new Map<string, SlurmTrainer>();
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

  /**
   * Opens the manager. Jobs a previous gateway left on Slurm are followed
   * again (their batch job runs on without the gateway); every other job it
   * left unfinished is failed, naming the state it was in.
   */
  static async open(deps: TrainingDeps): Promise<TrainingManager> {
    const manager = new TrainingManager(deps);
    const reattached = await manager.reattach();
    const failed = await manager.store.failInterrupted(new Date().toISOString(), reattached);
    if (failed > 0) deps.logger.warn({ jobs: failed }, 'training jobs left unfinished by the last gateway were marked failed');
    return manager;
  }

  /** The trainer for a profile: local ones here, Slurm ones as batch jobs; box profiles do not train yet. */
  trainerFor(profile: Profile): Trainer {
    if (profile.type === 'local') return this.local;
    if (profile.type === 'slurm') {
      if (!profile.homeDir) throw new CorralError('BAD_REQUEST', `Slurm profile '${profile.name}' has no home_dir; training jobs are staged there.`);
      const key = JSON.stringify(profile);
      let trainer = this.clusters.get(key);
      if (!trainer) {
        trainer = new SlurmTrainer(profile, runnerFor(profile), { python: this.settings.python, pipArgs: this.settings.pipArgs, pollMs: this.settings.pollMs });
        this.clusters.set(key, trainer);
      }
      return trainer;
    }
    throw new CorralError('BAD_REQUEST', `training on ${profile.type} profiles is not supported yet; use a local or slurm profile.`);
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
    const trainer = this.trainerFor(job.profile);
    if (!trainer.local) job.uploadToken = newServiceToken();
    const row: TrainingJobsTable = {
      id: job.id, tag: job.tag, model_name: job.modelName, state: 'queued', profile: job.profile.name,
      options_json: JSON.stringify(job.options), requirements_sha256: job.requirements?.sha256 ?? null, has_dataset: job.dataset ? 1 : 0,
      created_at: new Date().toISOString(), started_at: null, finished_at: null, exit_code: null, error: null, model_version: null,
      token_hash: job.uploadToken ? tokenHashOf(job.uploadToken) : null, slurm_job_id: null, log_offset: null,
    };
    await this.store.insert(row);
    this.active.set(job.id, { state: 'queued', local: trainer.local, followers: new Set() });
    this.note(job.id, `job ${job.id} queued: ${job.modelName} → ${job.tag} on profile ${job.profile.name}`);
    // A cluster's scheduler queues its own jobs: they are submitted at once.
    if (trainer.local) this.queue.push(job);
    else this.launch(job);
    this.pump();
    return jobView(row);
  }

  /** The hash of a cluster job's upload token (undefined for other jobs and unknown ids). */
  async uploadTokenHash(id: string): Promise<string | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    return (await this.store.get(id))?.token_hash ?? undefined;
  }

  /**
   * The model a Slurm job uploads (PUT .../output), streamed into the job's
   * output directory, where the end of the job looks for it as for a local
   * run. Only while the job runs; at most maxBytes.
   */
  async receiveOutput(id: string, source: Readable, maxBytes: number, declaredBytes?: number): Promise<{ job_id: string; file: string; size_bytes: number; sha256: string }> {
    try {
      return await this.takeOutput(id, source, maxBytes, declaredBytes);
    } catch (err) {
      // The rest of a refused body is read and dropped, so the client gets the answer instead of a broken connection.
      source.unpipe();
      source.resume();
      throw err;
    }
  }

  private async takeOutput(id: string, source: Readable, maxBytes: number, declaredBytes: number | undefined): Promise<{ job_id: string; file: string; size_bytes: number; sha256: string }> {
    const job = await this.get(id);
    const active = this.active.get(id);
    if (!active || active.local || !active.handle || active.stopping || active.state === 'validating') {
      throw new CorralError('TRAINING_JOB_FINISHED', `Training job ${id} is ${active?.stopping ? 'stopping' : active?.state ?? job.state}; its output is taken only while its Slurm job runs.`);
    }
    const tooLarge = () => new CorralError('PAYLOAD_TOO_LARGE', `The output of training job ${id} is larger than the upload limit; raise CORRAL_MAX_UPLOAD_MB.`);
    if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge();
    let seen = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > maxBytes) done(tooLarge());
        else done(null, chunk);
      },
    });
    source.on('error', (err) => limit.destroy(err));
    const files = this.filesOf(id);
    const received = await receiveUpload(source.pipe(limit), files.dir);
    await rename(received.path, join(files.outputDir, job.model_name));
    this.note(id, `received ${job.model_name} from the Slurm job (${received.sizeBytes} bytes, sha256 ${received.sha256.slice(0, 12)})`);
    return { job_id: id, file: job.model_name, size_bytes: received.sizeBytes, sha256: received.sha256 };
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

  /**
   * Stops every local job (they become failed: the gateway stopped) and waits
   * for their processes. Slurm jobs run on: they are only no longer followed,
   * and the next gateway on this CORRAL_HOME re-attaches to them.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) await this.finish(job.id, { state: 'failed', error: 'the gateway stopped while the job was queued' });
    for (const [id, active] of this.active) if (active.handle) this.stop(id, 'failed');
    await Promise.allSettled([...this.runs]);
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.runningCount() < this.settings.concurrency) this.launch(this.queue.shift()!);
  }

  private launch(job: TrainingSubmission, attach?: { slurmJobId: string; logOffset: number; startedAt: string }): void {
    const run = this.run(job, attach).catch((err: Error) => {
      if (this.closed && this.active.get(job.id)?.local === false) return;
      this.deps.logger.error({ err, job: job.id }, 'training job failed unexpectedly');
      return this.finish(job.id, { state: 'failed', error: `internal error: ${err.message}` }).catch(() => undefined);
    }).finally(() => {
      this.runs.delete(run);
      this.pump();
    });
    this.runs.add(run);
  }

  private runningCount(): number {
    return [...this.active.values()].filter((a) => a.local && a.state !== 'queued').length;
  }

  /** Follows again the Slurm jobs a previous gateway left running; returns their ids. */
  private async reattach(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const row of await this.store.list(10_000)) {
      if (isFinal(row.state as TrainingState) || row.state === 'validating' || !row.slurm_job_id) continue;
      const profile = this.deps.profiles.list().find((p) => p.name === row.profile);
      if (profile?.type !== 'slurm') continue;
      let trainer: Trainer;
      try {
        trainer = this.trainerFor(profile);
      } catch {
        continue;
      }
      if (!trainer.attach) continue;
      const view = jobView(row);
      const job: TrainingSubmission = {
        id: row.id, tag: row.tag, modelName: row.model_name, profile, memoryBytes: parseMemory(view.memory ?? undefined)?.bytes ?? null,
        options: { timeout_minutes: view.timeout_minutes, memory: view.memory, cpus: view.cpus, gpus: view.gpus },
        requirements: null, dataset: null,
      };
      this.active.set(row.id, { state: row.state as TrainingState, local: false, followers: new Set() });
      this.launch(job, { slurmJobId: row.slurm_job_id, logOffset: row.log_offset ?? 0, startedAt: row.started_at ?? row.created_at });
      ids.add(row.id);
    }
    if (ids.size > 0) this.deps.logger.info({ jobs: ids.size }, 'following the Slurm training jobs the last gateway left running');
    return ids;
  }

  private async run(job: TrainingSubmission, attach?: { slurmJobId: string; logOffset: number; startedAt: string }): Promise<void> {
    const active = this.active.get(job.id)!;
    const files = this.filesOf(job.id, job);
    const trainer = this.trainerFor(job.profile);
    if (active.local) active.state = 'installing';
    if (!attach) await this.store.update(job.id, { started_at: new Date().toISOString() });
    const run = {
      id: job.id, tag: job.tag, outputFile: job.modelName, options: job.options, memoryBytes: job.memoryBytes, files,
      output: (_stream: 'stdout' | 'stderr', text: string) => this.append(job.id, text),
      note: (line: string) => this.note(job.id, line),
      enter: (state: 'installing' | 'running') => this.enter(job.id, state),
      ...(job.uploadToken ? { uploadToken: job.uploadToken } : {}),
      gatewayUrl: () => this.deps.gatewayUrl?.() ?? 'http://127.0.0.1:3000',
      checkpoint: async (state: { slurmJobId?: string; logOffset?: number }) => {
        await this.store.update(job.id, {
          ...(state.slurmJobId !== undefined ? { slurm_job_id: state.slurmJobId } : {}),
          ...(state.logOffset !== undefined ? { log_offset: state.logOffset } : {}),
        });
      },
    };
    const handle = attach && trainer.attach ? trainer.attach(run, attach) : trainer.start(run);
    active.handle = handle;
    // The time limit covers the whole job, installing included (and the time before a restart).
    const elapsed = attach ? Math.max(0, Date.now() - Date.parse(attach.startedAt)) : 0;
    active.timer = setTimeout(() => {
      this.note(job.id, `time limit of ${job.options.timeout_minutes} minutes reached: stopping the job`);
      this.stop(job.id, 'timeout');
    }, Math.max(0, job.options.timeout_minutes * 60_000 - elapsed));
    active.timer.unref();
    if (active.stopping) this.halt(active);

    let outcome: TrainingOutcome;
    try {
      outcome = await handle.done;
    } finally {
      clearTimeout(active.timer);
    }
    if (this.closed && !active.local) return;
    if (outcome.kind === 'timeout') {
      await this.finish(job.id, { state: 'timeout', error: outcome.error });
      return;
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
    this.halt(active);
  }

  /** Stops a run; a closing gateway leaves its Slurm jobs running and only stops following them. */
  private halt(active: Active): void {
    if (this.closed && !active.local) active.handle?.detach?.();
    else active.handle?.stop();
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
