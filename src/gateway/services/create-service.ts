import type { CorralConfig } from '../../config/config.js';
import { CorralError } from '../../errors/index.js';
import { canonicalTask, defaultRuntime, hubCacheDirs, resolveTransformersModel, TASKS, type NewService } from '../../services/index.js';

export interface ServiceRequest {
  name: string;
  task: string;
  model?: string;
  runtime?: string;
  revision?: string;
  replicas?: number;
  options?: Record<string, unknown>;
  max_batch_size?: number;
  max_queue_delay_microseconds?: number;
}

/**
 * Turns a create request into a service definition: canonical task, a runtime
 * that can do it, and the model found on disk (revision pinned) or, when
 * downloads are allowed, a hub id with a warning.
 */
export function planService(body: ServiceRequest, config: CorralConfig): { spec: NewService; warning?: string } {
  const task = canonicalTask(body.task);
  if (!task) throw new CorralError('INVALID_SERVICE', `Unknown task '${body.task}'. Tasks: ${Object.keys(TASKS).join(', ')}.`);
  const runtime = body.runtime ?? defaultRuntime(task);
  const runtimes = TASKS[task].runtimes as readonly string[];
  if (!runtimes.includes(runtime)) {
    throw new CorralError('INVALID_SERVICE', `Runtime '${runtime}' cannot do ${task}; use ${runtimes.join(' or ')}.`);
  }
  if (runtime === 'onnx') throw new CorralError('INVALID_SERVICE', 'ONNX models are services already: upload them with PUT /api/v1/models/<name>.');
  let modelPath = 'builtin';
  let revision: string | null = null;
  let warning: string | undefined;
  if (runtime === 'transformers') {
    if (!body.model) throw new CorralError('INVALID_SERVICE', `Runtime transformers needs "model": a local directory or a Hugging Face id such as 'Xenova/all-MiniLM-L6-v2'.`);
    ({ modelPath, revision, warning } = resolveTransformersModel(body.model, { revision: body.revision, cacheDirs: hubCacheDirs(config.home), allowRemote: config.allowRemoteModels }));
  }
  const batching: NewService['batching'] = {};
  if (body.max_batch_size !== undefined) batching.maxBatchSize = body.max_batch_size;
  if (body.max_queue_delay_microseconds !== undefined) batching.maxQueueDelayMicroseconds = body.max_queue_delay_microseconds;
  return {
    spec: {
      name: body.name, runtime, task, model: body.model ?? 'builtin', modelPath, revision,
      options: body.options ?? {}, replicas: body.replicas ?? 1, batching, profile: 'local',
    },
    warning,
  };
}
