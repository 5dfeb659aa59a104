import type { JobView } from './job.js';

/** Who watches which job (GET /api/jobs/<id>/events), shared by both job queues. */
export class JobListeners {
  private readonly byJob = new Map<string, Set<(job: JobView) => void>>();

  subscribe(id: string, listener: (job: JobView) => void): () => void {
    let set = this.byJob.get(id);
    if (!set) this.byJob.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byJob.delete(id);
    };
  }

  watched(id: string): boolean {
    return (this.byJob.get(id)?.size ?? 0) > 0;
  }

  emit(job: JobView): void {
    for (const listener of this.byJob.get(job.id) ?? []) listener({ ...job });
  }

  forget(id: string): void {
    this.byJob.delete(id);
  }
}
