import { mkdir } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { EventHub } from '../events/index.js';
import { configFilePath, modelsDir, readModelOverrides, type CorralConfig } from '../config/index.js';
import { InferenceService } from '../inference/index.js';
import { createMetrics, type CorralMetrics } from '../metrics/index.js';
import type { InferenceDispatcher } from '../dispatch/inference-dispatcher.js';
import { ModelRepository } from '../repository/index.js';
import { join } from 'node:path';
import { launcherFactory, runOnProfile } from '../launchers/launcher-for-profile.js';
import { ProfileStore } from '../profiles/index.js';
import { ModelRegistry } from '../registry/index.js';
import { BoxController } from '../boxes/box-controller.js';
import { BoxRestarter } from '../boxes/box-restarter.js';
import { boxProviderFactory } from '../boxes/box-providers.js';
import { ServiceMonitor, ServiceRegistry, ServiceRunner } from '../services/index.js';
import { ServiceLogs } from '../services/service-logs.js';
import { IdleReaper } from '../services/idle-reaper.js';
import { databaseTarget, openDatabase, type Db } from '../store/index.js';
import { changeBusFor } from '../changes/change-bus-for.js';
import { keyChangesOf, type ChangeBus } from '../changes/change-bus.js';
import { leadershipFor } from '../leadership/leadership-for.js';
import type { Leadership } from '../leadership/leadership.js';
import { WorkerPool } from '../workers/index.js';
import { TrainingManager, trainingSettingsFrom } from '../training/index.js';
import {
  AuditLog, Authenticator, redactToken, FailedAuthLimiter, InternalCalls, KeyStore, MemoryQuotaStore, type QuotaStore,
} from '../auth/index.js';

/** Everything one running Corral holds; routes receive it, tests build it. */
export interface Corral {
  config: CorralConfig;
  logger: Logger;
  db: Db;
  metrics: CorralMetrics;
  /** Changes to services, models, workers and jobs, for GET /api/events. */
  events: EventHub;
  dispatcher: InferenceDispatcher;
  repository: ModelRepository;
  inference: InferenceService;
  services: ServiceRegistry;
  runner: ServiceRunner;
  profiles: ProfileStore;
  models: ModelRegistry;
  monitor: ServiceMonitor;
  /** Scale to zero: puts services idle for their idle_minutes to sleep (SLEEPING). */
  reaper: IdleReaper;
  /** Starts services again after their box was preempted, up to max_restarts. */
  restarter: BoxRestarter;
  /** Whether this gateway runs the monitors (one gateway of a deployment sharing PostgreSQL). */
  leadership: Leadership;
  /** How the gateways of a deployment hear of each other's changes (none for one gateway). */
  changes: ChangeBus | undefined;
  /** Boxes of the gce, ec2 and command profiles: list, start, stop (never create). */
  boxes: BoxController;
  /** The last lines of each service: worker output, job log, state changes (GET /api/services/<id>/logs). */
  logs: ServiceLogs;
  keys: KeyStore;
  auth: Authenticator;
  audit: AuditLog;
  /** Per-key request and concurrency counters: in memory, or in Redis shared by every gateway. */
  quotas: QuotaStore;
  failedAuth: FailedAuthLimiter;
  internalCalls: InternalCalls;
  /** Training jobs (POST /api/v1/train/...): queue, states, logs, registering their output. */
  training: TrainingManager;
  /** The gateway's URL as jobs on a cluster reach it; set once the server listens. */
  publicUrl: string;
  close(): Promise<void>;
}

/**
 * Wires the parts together in dependency order: state, workers, repository,
 * request path. The HTTP layer is built on top by buildApp().
 */
export async function createCorral(config: CorralConfig): Promise<Corral> {
  await mkdir(config.home, { recursive: true });
  config.modelOverrides = { ...(await readModelOverrides(configFilePath(config))), ...config.modelOverrides };
  // ?token= is a credential: a request URL never reaches a log line with it.
  const logger = pino({
    level: config.logLevel, name: 'corral',
    serializers: { req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactToken(req.url ?? '') }) },
  });
  const metrics = createMetrics();
  const db = await openDatabase(databaseTarget(config));
  const changes = await changeBusFor(config);
  const events = new EventHub(config.eventsHistory);
  const pool = (size: number, announce?: EventHub) => new WorkerPool({
    size,
    home: config.home,
    allowRemoteModels: config.allowRemoteModels,
    threadsPerWorker: config.threadsPerWorker,
    memoryBudgetBytes: config.modelMemoryBudgetBytes,
    logLevel: config.logLevel,
    readyTimeoutMs: config.requestTimeoutMs,
    metrics,
    logger,
    events: announce,
    // A worker's lines go to the services it was running when it printed them.
    onOutput: (stream, line, models) => logs.workerOutput(models.flatMap((name) => services.find(name)?.id ?? []), stream, line),
  });
  // Scale-out: batches go through Redis to `corral worker` processes anywhere; one local
  // process stays only to validate uploads. Otherwise the local pool runs everything.
  // BullMQ and ioredis (about 30 MB resident) are loaded only in Redis mode.
  const dispatcher: InferenceDispatcher = config.redisUrl
    ? new (await import('../queue/bullmq-dispatcher.js')).BullMqDispatcher({
      redisUrl: config.redisUrl, prefix: config.queuePrefix, attempts: config.jobAttempts,
      resultTtlSeconds: config.jobTtlSeconds, maxWaiting: config.maxQueuedJobs, inspector: pool(1), metrics, logger, events,
    })
    : pool(config.workers, events);
  const repository = await ModelRepository.open(db, modelsDir(config), (runtime, path) => dispatcher.inspect(runtime, path), events, changes);
  const inference = new InferenceService(repository, dispatcher, config, metrics, logger);
  const services = await ServiceRegistry.open(db, repository, events, changes);
  const profiles = new ProfileStore(join(config.home, 'profiles.cfg'), config.home);
  const boxes = new BoxController(profiles, boxProviderFactory(), events);
  const launcherFor = launcherFactory({
    boxes,
    // A box stays up while another service still runs on it (job ids are <instance>:<pid>).
    boxInUse: (profile, instance, exceptJobId) => services.list().some((s) => s.profile === profile && s.jobId !== null
      && s.jobId !== exceptJobId && s.jobId.startsWith(`${instance}:`) && ['SUBMITTED', 'STARTING', 'RUNNING'].includes(s.status)),
  });
  // A job's log is read through its profile's launcher, from the path that launcher gave the job.
  const logs = new ServiceLogs({
    jobLog: (service) => {
      const profile = profiles.list().find((p) => p.name === service.profile);
      const launcher = profile && profile.type !== 'local' ? launcherFor(profile) : undefined;
      return launcher?.readLog ? { readLog: launcher.readLog.bind(launcher) } : undefined;
    },
  });
  events.subscribe((event) => {
    if (event.type === 'service') logs.stateChanged(event.service);
    else if (event.type === 'service-deleted') logs.forget(event.service.id);
  });
  const keys = await KeyStore.open(db, changes ? keyChangesOf(changes) : undefined);
  const quotas: QuotaStore = config.redisUrl
    ? new (await import('../auth/quota/redis-quota-store.js')).RedisQuotaStore(config.redisUrl, config.queuePrefix) : new MemoryQuotaStore();
  const corral: Corral = {
    config, logger, db, metrics, events, dispatcher, repository, inference, services, profiles,
    keys, quotas, boxes,
    auth: new Authenticator(keys, config.auth),
    audit: new AuditLog(db, logger),
    failedAuth: new FailedAuthLimiter(quotas, config.auth.failuresPerMinute),
    internalCalls: new InternalCalls(),
    publicUrl: config.publicUrl ?? `http://${config.host}:${config.port}`,
    runner: undefined as unknown as ServiceRunner,
    reaper: undefined as unknown as IdleReaper,
    models: new ModelRegistry(db, repository, runOnProfile),
    monitor: new ServiceMonitor(services, profiles, launcherFor, logger, config.monitorIntervalMs),
    logs,
    restarter: undefined as unknown as BoxRestarter,
    leadership: await leadershipFor(config),
    changes,
    training: await TrainingManager.open({ db, home: config.home, repository, profiles, logger, settings: trainingSettingsFrom(process.env), gatewayUrl: () => corral.publicUrl }),
    async close() {
      // First: a training job still running is stopped while the repository and database are there.
      await corral.training.close();
      // Giving the lead up first lets another gateway take the monitors over at once.
      await corral.leadership.stop();
      corral.monitor.stop();
      corral.reaper.stop();
      corral.runner.close();
      corral.restarter.stop();
      await keys.close();
      await changes?.close();
      await quotas.close();
      await dispatcher.close();
      await db.destroy();
    },
  };
  corral.runner = new ServiceRunner({ registry: services, inference, config, logger, profiles, launcherFor, gatewayUrl: () => corral.publicUrl, events, metrics });
  corral.reaper = new IdleReaper({ registry: services, runner: corral.runner, logger });
  corral.restarter = new BoxRestarter({ registry: services, profiles, logger, wake: (service, reason) => corral.runner.wake(service, reason),
    baseMs: config.boxRestartBackoffMs, intervalMs: config.monitorIntervalMs });
  // The monitors run on one gateway of a deployment: the leader (always, for a gateway alone).
  corral.leadership.start((leader) => {
    metrics.leader.set(leader ? 1 : 0);
    const monitors = [corral.monitor, corral.reaper, corral.restarter];
    if (leader) monitors.forEach((m) => m.start());
    else monitors.forEach((m) => m.stop());
    if (corral.leadership.kind !== 'solo') logger.info({ leader }, leader ? 'this gateway now leads: it runs the monitors' : 'this gateway no longer leads');
  });
  return corral;
}
