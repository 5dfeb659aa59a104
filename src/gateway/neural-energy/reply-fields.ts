import type { ServiceRecord } from '../../services/index.js';
import type { WorkerInfo } from '../../dispatch/inference-dispatcher.js';
import { VERSION } from '../version.js';

/** Neural Energy's `time`: `YYYY-MM-DD HH:MM:SS`, UTC. */
export const neTime = (date = new Date()): string => date.toISOString().slice(0, 19).replace('T', ' ');

/** What a Neural Energy gateway adds to every answer of a server. */
export interface RunFields {
  call_id: number;
  signature: string;
  ver: string;
  worker_ver: string;
  time: string;
}

/**
 * `call_id`: Neural Energy numbers each server's calls from 1. Kept in the
 * gateway's memory, so it restarts with the gateway (as the original's did).
 */
export class CallCounter {
  private readonly counts = new Map<string, number>();

  next(service: string): number {
    const n = (this.counts.get(service) ?? 0) + 1;
    this.counts.set(service, n);
    return n;
  }
}

/**
 * The worker a service's answer is credited to: the first worker that reports
 * holding its model (local workers report every 2 s; Redis workers list the
 * services they serve), else `local` or, for a cluster job, `job-<id>`.
 * Which worker ran one batch is not reported back to the gateway yet.
 */
export function workerOf(service: ServiceRecord, workers: WorkerInfo[], modelKey: string): string {
  const holder = workers.find((w) => w.state !== 'exited' && (w.loadedModels.includes(modelKey) || w.services?.includes(service.name)));
  if (holder) return holder.id;
  return service.profile !== 'local' && service.jobId ? `job-${service.jobId}` : 'local';
}

/** The model's revision: a repository model's version, a pinned hub revision, else the model as named (`builtin`). */
export const workerVersion = (service: ServiceRecord): string => service.revision ?? service.model;

export function runFields(service: ServiceRecord, callId: number, worker: string): RunFields {
  return { call_id: callId, signature: `${service.name}:${worker}`, ver: VERSION, worker_ver: workerVersion(service), time: neTime() };
}
