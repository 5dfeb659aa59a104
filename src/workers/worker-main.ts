/**
 * Entry of a worker process (the "modelhost"). Forked by the gateway's worker
 * pool; talks to it over IPC only. Models load lazily on first use and stay
 * loaded until the memory budget pushes them out.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { InvalidInputError } from '../runtimes/input-error.js';
import { runtimeNamed } from '../runtimes/registry.js';
import type { RuntimeEnv } from '../runtimes/runtime.js';
import { ModelCache } from './model-cache.js';
import type { FromWorker, ToWorker, WorkerErrorKind } from './protocol.js';
import { startOtel, stopOtel, tracing } from '../tracing/otel.js';

const env: RuntimeEnv = {
  threads: Number(process.env.CORRAL_WORKER_THREADS ?? 1),
  allowRemoteModels: process.env.CORRAL_ALLOW_REMOTE_MODELS !== '0',
  modelCacheDir: process.env.CORRAL_MODEL_CACHE ?? join(process.env.CORRAL_HOME ?? join(homedir(), '.corral'), 'hub'),
};
// Lines go to stdout, which the gateway's pool reads and credits to the services running here.
const log = pino({ level: process.env.CORRAL_LOG_LEVEL ?? 'info', name: 'corral-worker', base: { pid: process.pid, worker: process.env.CORRAL_WORKER_ID } });
const cache = new ModelCache(Number(process.env.CORRAL_WORKER_BUDGET_BYTES ?? 4 * 1024 ** 3));
// After the gateway is gone the channel is closed; there is nobody left to tell.
const send = (message: FromWorker) => { if (process.connected) process.send?.(message); };

class LoadError extends Error {}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'run': {
      // The ids of the batch's requests name it in every line about it (the gateway's X-Request-Id).
      const reqIds = message.requestIds ?? [];
      const modelName = message.model.name ?? message.model.key;
      try {
        const model = await cache
          .get(message.model.key, async () => (await runtimeNamed(message.model.runtime)).load(message.model, env))
          .catch((err: unknown) => {
            throw new LoadError((err as Error).message);
          });
        const emit = (data: unknown) => send({ type: 'chunk', id: message.id, data });
        // With OpenTelemetry on: a child of the batch's span at the gateway (its traceparent came with the batch).
        const otel = tracing.otel;
        const span = otel !== null && message.traceparent !== undefined
          ? otel.remoteChildSpan(message.traceparent, 'corral.compute', { 'corral.model': modelName, 'corral.request_ids': reqIds }, message.links ?? [])
          : undefined;
        const started = performance.now();
        let output: unknown;
        try {
          output = await model.run(message.input, emit);
        } catch (err) {
          if (span) otel!.endSpan(span, err);
          throw err;
        }
        const computeMs = performance.now() - started;
        if (span) otel!.endSpan(span);
        send({ type: 'result', id: message.id, output, computeMs });
        log.debug({ reqIds, model: modelName, computeMs }, 'ran batch');
      } catch (err) {
        const kind = classify(err);
        log[kind === 'input' ? 'debug' : 'warn']({ reqIds, model: modelName, kind, err: (err as Error).message }, 'batch failed');
        send({ type: 'error', id: message.id, message: (err as Error).message, kind });
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

// Only when OTEL_EXPORTER_OTLP_ENDPOINT is set (inherited from the gateway) is the SDK loaded.
const otel = await startOtel('corral-worker');
process.on('message', (message: ToWorker) => void handle(message));
// Spans still buffered are exported before the process ends (within 3 s).
let exiting = false;
const exit = () => {
  if (exiting) return;
  exiting = true;
  if (!otel) process.exit(0);
  void Promise.race([stopOtel(), new Promise((r) => setTimeout(r, 3000).unref())]).finally(() => process.exit(0));
};
// The gateway going away must take its workers with it.
process.on('disconnect', exit);
if (otel) process.on('SIGTERM', exit);

setInterval(() => send({ type: 'stats', rssBytes: process.memoryUsage().rss, loaded: cache.keys() }), 2000).unref();
send({ type: 'ready', pid: process.pid });
