/**
 * What every section gets: the options, a scratch directory, the shared
 * in-process gateway (started once, on first use), the bench models, and the
 * clean-up list.
 */
import type { CorralConfig } from '../src/config/index.js';
import type { RunningServer } from '../src/gateway/index.js';
import { drain, overrideCapacity, startBenchServer, uploadModel, warmUp } from './bench-server.js';
import type { Cleanup } from './cleanup.js';
import type { BenchModel } from './models.js';
import type { BenchOptions } from './options.js';

export interface BenchContext {
  options: BenchOptions;
  /** Scratch directory (fixtures, the shared gateway's CORRAL_HOME); removed at the end. */
  home: string;
  /** Every bench model (iris, encoder); BENCH_MODELS filters the kserve section only. */
  models: BenchModel[];
  cleanup: Cleanup;
  log: (line: string) => void;
  /** The shared in-process gateway, started on first call. */
  shared(): Promise<{ server: RunningServer; config: CorralConfig }>;
  /** Drains and stops the shared gateway (a no-op when not running). */
  stopShared(): Promise<void>;
  /** True once the shared gateway has run (its settings go in the report). */
  sharedConfig(): { config: CorralConfig; capacity: number } | undefined;
  /** Uploads a bench model to the shared gateway and loads it in every worker, once. */
  ensureModel(model: BenchModel): Promise<void>;
}

export function createContext(options: BenchOptions, home: string, models: BenchModel[], cleanup: Cleanup, log: (line: string) => void): BenchContext {
  let started: Promise<{ server: RunningServer; config: CorralConfig }> | undefined;
  let stop: (() => Promise<void>) | undefined;
  let seen: { config: CorralConfig; capacity: number } | undefined;
  const uploaded = new Set<string>();
  const ctx: BenchContext = {
    options, home, models, cleanup, log,
    shared() {
      started ??= (async () => {
        const s = await startBenchServer(home, options.corralEnv);
        if (options.capacity !== undefined) overrideCapacity(s.server, options.capacity);
        stop = cleanup.add('stop the in-process gateway', async () => {
          await drain(s.server, models.filter((m) => uploaded.has(m.name)))
            .catch((err: unknown) => log(`not drained before shutdown: ${(err as Error).message}`));
          await s.server.close();
          log('in-process gateway drained and shut down');
        });
        seen = { config: s.config, capacity: s.server.corral.dispatcher.capacity() };
        return s;
      })();
      return started;
    },
    async stopShared() {
      if (!started) return;
      await started.catch(() => undefined);
      await stop?.();
      started = undefined;
      uploaded.clear();
    },
    sharedConfig: () => (seen ? { ...seen } : undefined),
    async ensureModel(model) {
      if (uploaded.has(model.name)) return;
      const { server } = await ctx.shared();
      await uploadModel(server.url, model);
      await warmUp(server, model);
      await drain(server, [model]);
      uploaded.add(model.name);
      log(`uploaded and warmed up ${model.name} in every worker`);
    },
  };
  return ctx;
}
