import type { ModelRef } from '../runtimes/runtime.js';

/**
 * Every Redis key and BullMQ queue Corral uses, under one prefix so several
 * deployments (or test runs) share a Redis server without meeting.
 */
export class RedisNames {
  constructor(readonly prefix: string) {}

  /** BullMQ queue for one model or service's batches. */
  inferenceQueue(name: string): string {
    return `infer.${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  }

  /** BullMQ queue of async jobs (POST /api/jobs). */
  readonly jobsQueue = 'jobs';

  /** Sorted set listing async jobs newest first (GET /api/jobs): one member per job, all scored 0, ordered by text. */
  get jobsIndexKey(): string {
    return `${this.prefix}:jobs:index`;
  }

  /** Counter numbering async jobs as they arrive, for that index. */
  get jobsArrivalKey(): string {
    return `${this.prefix}:jobs:arrivals`;
  }

  /** Set of model/service names that have an inference queue, for workers that serve everything. */
  get servicesKey(): string {
    return `${this.prefix}:services`;
  }

  workerKey(id: string): string {
    return `${this.prefix}:workers:${id}`;
  }

  get workerPattern(): string {
    return `${this.prefix}:workers:*`;
  }

  /** Pub/sub channel telling workers to drop a model version from memory. */
  get unloadChannel(): string {
    return `${this.prefix}:unload`;
  }
}

export const refName = (ref: ModelRef): string => ref.name ?? ref.key.split('@')[0]!;
