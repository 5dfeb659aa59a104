/**
 * Entry of a worker process (the "modelhost"). Forked by the gateway's worker
 * pool; talks to it over IPC only. Models load lazily on first use and stay
 * loaded until the memory budget pushes them out.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../runtimes/input-error.js';
import { runtimeNamed } from '../runtimes/registry.js';
import type { RuntimeEnv } from '../runtimes/runtime.js';
import { ModelCache } from './model-cache.js';
import type { FromWorker, ToWorker, WorkerErrorKind } from './protocol.js';

const env: RuntimeEnv = {
  threads: Number(process.env.CORRAL_WORKER_THREADS ?? 1),
  allowRemoteModels: process.env.CORRAL_ALLOW_REMOTE_MODELS !== '0',
  modelCacheDir: process.env.CORRAL_MODEL_CACHE ?? join(process.env.CORRAL_HOME ?? join(homedir(), '.corral'), 'hub'),
};
const cache = new ModelCache(Number(process.env.CORRAL_WORKER_BUDGET_BYTES ?? 4 * 1024 ** 3));
// After the gateway is gone the channel is closed; there is nobody left to tell.
const send = (message: FromWorker) => { if (process.connected) process.send?.(message); };

class LoadError extends Error {}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'run': {
      try {
        const model = await cache
          .get(message.model.key, async () => (await runtimeNamed(message.model.runtime)).load(message.model, env))
          .catch((err: unknown) => {
            throw new LoadError((err as Error).message);
          });
        const emit = (data: unknown) => send({ type: 'chunk', id: message.id, data });
        send({ type: 'result', id: message.id, output: await model.run(message.input, emit) });
      } catch (err) {
        send({ type: 'error', id: message.id, message: (err as Error).message, kind: classify(err) });
      }
      return;
    }
    case 'inspect': {
      try {
        const runtime = await runtimeNamed(message.runtime);
        if (!runtime.inspect) throw new Error(`runtime '${message.runtime}' cannot inspect files`);
        send({ type: 'inspected', id: message.id, signature: await runtime.inspect(message.path, env) });
      } catch (err) {
        send({ type: 'error', id: message.id, message: (err as Error).message, kind: 'load' });
      }
      return;
    }
    case 'unload':
      await cache.unload(message.key);
      return;
  }
}

/**
 * By the error's type, never its message: only a runtime's input checks (and the
 * onnx runtime, for onnxruntime's own rejection of a feed) say the client is at
 * fault. Anything else is the server's failure, however it is worded.
 */
function classify(err: unknown): WorkerErrorKind {
  if (err instanceof LoadError) return 'load';
  if (err instanceof InvalidInputError) return 'input';
  return 'internal';
}

process.on('message', (message: ToWorker) => void handle(message));
// The gateway going away must take its workers with it.
process.on('disconnect', () => process.exit(0));

setInterval(() => send({ type: 'stats', rssBytes: process.memoryUsage().rss, loaded: cache.keys() }), 2000).unref();
send({ type: 'ready', pid: process.pid });
