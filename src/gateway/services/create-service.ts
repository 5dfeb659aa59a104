import { join } from 'node:path';
import type { CorralConfig } from '../../config/config.js';
import type { Profile } from '../../profiles/index.js';
import type { ModelRegistry } from '../../registry/index.js';
import { CorralError } from '../../errors/index.js';
import { canonicalTask, defaultRuntime, hubCacheDirs, resolveTransformersModel, TASKS, unknownTaskMessage, type NewService } from '../../services/index.js';

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
  profile?: string;
  idle_minutes?: number;
  wake_on_request?: boolean;
  wake_max_queued?: number;
  wake_timeout_s?: number;
}

/**
 * Turns a create request into a service definition: canonical task, a runtime
 * that can do it, and the model found on disk (revision pinned) or, when
 * downloads are allowed, a hub id with a warning.
 */
export async function planService(body: ServiceRequest, config: CorralConfig, profile: Profile, registry: ModelRegistry): Promise<{ spec: NewService; warning?: string }> {
  const task = canonicalTask(body.task);
  if (!task) throw new CorralError('INVALID_SERVICE', unknownTaskMessage(body.task));
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
    ({ modelPath, revision, warning } = profile.type === 'local'
      ? resolveTransformersModel(body.model, { revision: body.revision, cacheDirs: [...profileDirs(profile), ...hubCacheDirs(config.home)], allowRemote: config.allowRemoteModels })
      : await resolveOnCluster(body.model, body.revision, profile, registry));
  }
  const batching: NewService['batching'] = {};
  if (body.max_batch_size !== undefined) batching.maxBatchSize = body.max_batch_size;
  if (body.max_queue_delay_microseconds !== undefined) batching.maxQueueDelayMicroseconds = body.max_queue_delay_microseconds;
  return {
    spec: {
      name: body.name, runtime, task, model: body.model ?? 'builtin', modelPath, revision,
      options: body.options ?? {}, replicas: body.replicas ?? 1, batching, profile: profile.name,
      idleMinutes: body.idle_minutes, wakeOnRequest: body.wake_on_request, wakeMaxQueued: body.wake_max_queued, wakeTimeoutS: body.wake_timeout_s,
    },
    warning,
  };
}

/** A profile's shared cache first, then the user's own home_dir. */
const profileDirs = (p: Profile) => [p.cacheDir, p.homeDir].filter((d): d is string => !!d).flatMap((d) => [d, join(d, 'hub')]);

/**
 * On a cluster profile the registry says what is on disk there (refreshed if it
 * knows nothing yet). A model found is pinned to its revision; one not found
 * will be downloaded into home_dir by the job, never into the shared cache_dir.
 */
async function resolveOnCluster(model: string, revision: string | undefined, profile: Profile, registry: ModelRegistry) {
  if (model.startsWith('/')) return { modelPath: model, revision: revision ?? null };
  let found = await registry.find(profile.name, model, revision);
  if (!found && (await registry.list(profile.name)).length === 0) {
    await registry.refresh(profile);
    found = await registry.find(profile.name, model, revision);
  }
  if (found) return { modelPath: found.path, revision: found.revision };
  return {
    modelPath: model,
    revision: revision ?? null,
    warning: `Model '${model}' is not in ${profile.name}'s cache_dir or home_dir; the job will download it to ${profile.homeDir ?? '~/.corral'}/hub.`,
  };
}
