import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * All Prometheus metrics of one Corral instance, on its own registry so two
 * instances in one process (tests) never share counters.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'corral_gateway_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'corral_requests_total', help: 'Inference and model API requests by model, API and HTTP status.',
      labelNames: ['model', 'api', 'status'] as const, registers,
    }),
    requestDuration: new Histogram({
      name: 'corral_request_duration_seconds', help: 'Request latency from arrival to response, by model, API and status.',
      labelNames: ['model', 'api', 'status'] as const, registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    inferenceDuration: new Histogram({
      name: 'corral_inference_duration_seconds', help: 'Time a batch spends in a worker, by model.',
      labelNames: ['model'] as const, registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    queueDepth: new Gauge({
      name: 'corral_queue_depth', help: 'Requests waiting in a model\'s batcher for a free worker.',
      labelNames: ['model'] as const, registers,
    }),
    batchSize: new Histogram({
      name: 'corral_batch_size', help: 'Rows per executed batch, by model.',
      labelNames: ['model'] as const, registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    }),
    workerRss: new Gauge({
      name: 'corral_worker_rss_bytes', help: 'Resident memory of each worker process.',
      labelNames: ['worker'] as const, registers,
    }),
    workerRestarts: new Counter({
      name: 'corral_worker_restarts_total', help: 'Worker processes restarted after they exited unexpectedly.', registers,
    }),
    workersReady: new Gauge({ name: 'corral_workers_ready', help: 'Worker processes ready to take work.', registers }),
    retries: new Counter({
      name: 'corral_inference_retries_total', help: 'Batches re-sent to another worker after their worker died.',
      labelNames: ['model'] as const, registers,
    }),
  };
}

export type CorralMetrics = ReturnType<typeof createMetrics>;
