import sharp from 'sharp';
import type { Logger } from 'pino';
import type { CorralConfig } from '../config/config.js';
import { CorralError } from '../errors/index.js';
import type { InferenceService } from '../inference/index.js';
import type { Launcher } from '../launchers/launcher.js';
import type { Profile, ProfileStore } from '../profiles/index.js';
import { checkHostEndpoint } from './host-endpoint.js';
import { jobFor } from './job-command.js';
import { invokeRemote } from './remote-invoke.js';
import type { ServiceRecord } from './service-record.js';
import type { ServiceRegistry } from './service-registry.js';
import { withServiceLock } from './service-monitor.js';
import { serviceTarget } from './service-target.js';
import { hostCredentialOf, newServiceToken, tokenHashOf } from './service-token.js';
import type { Task } from './tasks.js';
import type { RequestTrace } from '../tracing/index.js';

/** Makes the launcher for a non-local profile (Slurm today, cloud later). */
export type LauncherFactory = (profile: Profile) => Launcher;

export interface RunnerDeps {
  registry: ServiceRegistry;
  inference: InferenceService;
  config: CorralConfig;
  logger: Logger;
  profiles: ProfileStore;
  launcherFor: LauncherFactory;
  /** The gateway's URL as a job on the cluster can reach it. */
  gatewayUrl: () => string;
}

/**
 * Starts, stops and runs services wherever their profile puts them. On the
 * local profile a service runs in the gateway's own workers and goes RUNNING
 * once a probe request answers; on a cluster profile it is submitted as a job,
 * and goes RUNNING when that job's host registers its endpoint.
 */
export class ServiceRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /**
   * Sends one request to a RUNNING service; anything else answers 503 with its state.
   * `trace` (the gateway's request) names it on its way and receives its timing.
   */
  async run<O>(service: ServiceRecord, input: unknown, onChunk?: (data: unknown) => void, trace?: RequestTrace): Promise<O> {
    if (service.fromRepository) throw new CorralError('BAD_REQUEST', `'${service.name}' is a raw ONNX model: send tensors to /v2/models/${service.name}/infer.`);
    this.assertReady(service);
    if (service.profile !== 'local') {
      if (!service.endpoint) throw new CorralError('SERVICE_NOT_READY', `Service '${service.name}' has no endpoint yet.`);
      return invokeRemote({ endpoint: service.endpoint, name: service.name, hostCredential: service.hostCredential ?? null }, input, onChunk, trace) as Promise<O>;
    }
    return this.deps.inference.submit(this.target(service), input, onChunk, trace) as Promise<O>;
  }

  /** Throws the 503 (with its state and reason) for a service that cannot take requests. */
  assertReady(service: ServiceRecord): void {
    if (service.status === 'RUNNING') return;
    const reason = service.reason ? `: ${service.reason}` : '';
    const pending = service.status === 'STARTING' || service.status === 'SUBMITTED';
    throw new CorralError('SERVICE_NOT_READY', `Service '${service.name}' is ${service.status}${reason}.`, { headers: pending ? { 'retry-after': '2' } : {} });
  }

  /**
   * Brings a new service up; resolves with its state once that is settled or handed to the scheduler.
   * Each job launch gets a fresh token: the gateway stores only its hash (and the
   * credential derived from it for calling the job's host); the plaintext goes
   * into the job's environment and nowhere else.
   */
  async start(service: ServiceRecord): Promise<ServiceRecord> {
    const { registry, logger } = this.deps;
    if (service.profile !== 'local') {
      const profile = this.deps.profiles.get(service.profile);
      try {
        const token = newServiceToken();
        await registry.setLaunchToken(service.id, { tokenHash: tokenHashOf(token), hostCredential: hostCredentialOf(token) });
        const { jobId } = await this.deps.launcherFor(profile).launch(jobFor(service, profile, this.deps.gatewayUrl(), this.deps.config.allowRemoteModels, token));
        // A host quick enough to have reported already (RUNNING, or FAILED with its reason) keeps that state.
        const reported = registry.find(service.id)?.status;
        return await registry.setStatus(service.id, reported === 'RUNNING' || reported === 'FAILED' ? reported : 'SUBMITTED', { jobId });
      } catch (err) {
        // FAILED also clears the token: no job holds it.
        return registry.setStatus(service.id, 'FAILED', { reason: `Submitting the job failed: ${(err as Error).message}` });
      }
    }
    try {
      await this.deps.inference.submit(this.target(service), await probeInput(service.task));
      return await registry.setStatus(service.id, 'RUNNING', { reason: null });
    } catch (err) {
      const reason = (err as Error).message;
      logger.warn({ service: service.name, reason }, 'service failed to start');
      this.deps.inference.retire(this.target(service).ref.key);
      return registry.setStatus(service.id, 'FAILED', { reason });
    }
  }

  /**
   * Stops a service: local ones unload at once; a job is cancelled and the
   * monitor records STOPPED when the scheduler confirms it.
   */
  async stop(service: ServiceRecord): Promise<ServiceRecord> {
    if (service.fromRepository) throw new CorralError('BAD_REQUEST', `'${service.name}' is a repository model; it cannot be stopped, only deleted.`);
    if (service.profile === 'local') {
      this.deps.inference.retire(this.target(service).ref.key);
      return this.deps.registry.setStatus(service.id, 'STOPPED', { endpoint: null });
    }
    if (service.jobId && ['SUBMITTED', 'STARTING', 'RUNNING'].includes(service.status)) {
      await this.deps.launcherFor(this.deps.profiles.get(service.profile)).stop(service.jobId);
    }
    return service;
  }

  /**
   * A job's host reports in: its endpoint (→ RUNNING) or why it could not start (→ FAILED).
   * A job Slurm requeued runs again and registers again: the service is back to
   * SUBMITTED (or STARTING) by then and takes the new endpoint. The check and the
   * write run under the service's lock, on its current record, so the monitor
   * cannot write over them with an older scheduler report.
   */
  async register(service: ServiceRecord, report: { endpoint?: string; error?: string }): Promise<ServiceRecord> {
    if (report.error === undefined && !report.endpoint) throw new CorralError('BAD_REQUEST', 'Send {"endpoint": "http://host:port"} or {"error": "..."}.');
    return withServiceLock(service.id, async () => {
      const current = this.deps.registry.find(service.id) ?? service;
      if (report.error !== undefined) return this.deps.registry.setStatus(current.id, 'FAILED', { reason: report.error, endpoint: null });
      if (['STOPPED', 'FAILED', 'TIMEOUT'].includes(current.status)) {
        throw new CorralError('BAD_REQUEST', `Service '${current.name}' is ${current.status}; a host cannot revive it.`);
      }
      const endpoint = checkHostEndpoint(report.endpoint!);
      return this.deps.registry.setStatus(current.id, 'RUNNING', { endpoint, reason: null });
    });
  }

  /** Forgets a deleted service's loaded model. */
  retire(service: ServiceRecord): void {
    if (service.profile === 'local') this.deps.inference.retire(this.target(service).ref.key);
  }

  private target(service: ServiceRecord) {
    return serviceTarget(service, this.deps.config.batching);
  }
}

/** The smallest real request of each task, to prove a service loads and answers. */
async function probeInput(task: Task): Promise<unknown> {
  switch (task) {
    case 'zero-shot-classification':
      return { texts: ['Corral is starting.'], options: { labels: ['start', 'stop'] } };
    case 'text-generation':
      return { prompt: 'Hello', maxNewTokens: 1 };
    case 'ocr':
      return { image: await sharp({ create: { width: 32, height: 32, channels: 3, background: 'white' } }).png().toBuffer() };
    case 'tensor':
      throw new CorralError('INVALID_SERVICE', 'Raw ONNX models are served from the model repository; upload them with PUT /api/v1/models/<name>.');
    default:
      return { texts: ['Corral is starting.'] };
  }
}
