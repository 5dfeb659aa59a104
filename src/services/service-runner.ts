import sharp from 'sharp';
import type { CorralConfig } from '../config/config.js';
import { CorralError } from '../errors/index.js';
import type { InferenceService } from '../inference/index.js';
import type { Logger } from 'pino';
import type { ServiceRecord } from './service-record.js';
import type { ServiceRegistry } from './service-registry.js';
import { serviceTarget } from './service-target.js';
import type { Task } from './tasks.js';

/**
 * Runs requests on services, and brings new services from STARTING to RUNNING
 * by loading them in a worker with a small real request (or to FAILED with the
 * runtime's reason).
 */
export class ServiceRunner {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly inference: InferenceService,
    private readonly config: CorralConfig,
    private readonly logger: Logger,
  ) {}

  /** Sends one request to a RUNNING service; anything else answers 503 with its state. */
  async run<O>(service: ServiceRecord, input: unknown, onChunk?: (data: unknown) => void): Promise<O> {
    this.assertReady(service);
    return this.inference.submit(this.target(service), input, onChunk) as Promise<O>;
  }

  /** Throws the 503 (with its state and reason) for a service that cannot take requests. */
  assertReady(service: ServiceRecord): void {
    if (service.fromRepository) throw new CorralError('BAD_REQUEST', `'${service.name}' is a raw ONNX model: send tensors to /v2/models/${service.name}/infer.`);
    if (service.status === 'RUNNING') return;
    const reason = service.reason ? `: ${service.reason}` : '';
    const pending = service.status === 'STARTING' || service.status === 'SUBMITTED';
    throw new CorralError('SERVICE_NOT_READY', `Service '${service.name}' is ${service.status}${reason}.`, { headers: pending ? { 'retry-after': '2' } : {} });
  }

  /** Loads the service in a worker with a probe request; settles its state. */
  async start(service: ServiceRecord): Promise<ServiceRecord> {
    try {
      await this.inference.submit(this.target(service), await probeInput(service.task));
      return await this.registry.setStatus(service.id, 'RUNNING', { reason: null });
    } catch (err) {
      const reason = (err as Error).message;
      this.logger.warn({ service: service.name, reason }, 'service failed to start');
      this.inference.retire(this.target(service).ref.key);
      return this.registry.setStatus(service.id, 'FAILED', { reason });
    }
  }

  /** Stops routing to a service and unloads it from the workers. */
  retire(service: ServiceRecord): void {
    this.inference.retire(this.target(service).ref.key);
  }

  private target(service: ServiceRecord) {
    return serviceTarget(service, this.config.batching, this.config.workers);
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
