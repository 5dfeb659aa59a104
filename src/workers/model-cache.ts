import type { LoadedModel } from '../runtimes/runtime.js';

/**
 * Loaded models of one worker, least recently used first out once their summed
 * size passes the budget. Concurrent first requests for a model share one load.
 */
export class ModelCache {
  private readonly entries = new Map<string, Promise<LoadedModel>>();
  private readonly sizes = new Map<string, number>();

  constructor(private readonly budgetBytes: number) {}

  async get(key: string, load: () => Promise<LoadedModel>): Promise<LoadedModel> {
    let entry = this.entries.get(key);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry;
    }
    entry = load();
    this.entries.set(key, entry);
    try {
      const model = await entry;
      // Unloaded while loading (unload() disposes it): it must not count against the budget.
      if (this.entries.get(key) === entry) {
        this.sizes.set(key, model.sizeBytes);
        await this.evictOverBudget(key);
      }
      return model;
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
  }

  async unload(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.sizes.delete(key);
    // A model in use keeps running: release only after in-flight runs settle is the runtime's job.
    await entry.then((m) => m.dispose()).catch(() => undefined);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  private async evictOverBudget(keep: string): Promise<void> {
    let total = [...this.sizes.values()].reduce((a, b) => a + b, 0);
    for (const key of [...this.entries.keys()]) {
      if (total <= this.budgetBytes) break;
      if (key === keep || !this.sizes.has(key)) continue;
      total -= this.sizes.get(key)!;
      await this.unload(key);
    }
  }
}
