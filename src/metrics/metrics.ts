import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * All Prometheus metrics of one Corral instance, on its own registry so two
 * instances in one process (tests) never share counters.
 */
export function createMetrics() {
  const registry = new Registry();
  // Per-key counts are kept in plain maps and handed to prom-client at scrape time:
  // its inc() hashes and validates labels, a cost every authenticated request would pay.
  const perKey = new Map<string, Map<number, number>>();
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
    queueWait: new Histogram({
      name: 'corral_queue_wait_seconds', help: 'Time each request waits in its model\'s batcher before its batch is dispatched, by model.',
      labelNames: ['model'] as const, registers,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    compute: new Histogram({
      name: 'corral_compute_seconds', help: 'Time a worker spends running each batch, measured in the worker (model load excluded), by model.',
      labelNames: ['model'] as const, registers,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    abandoned: new Counter({
      name: 'corral_requests_abandoned_total', help: 'Requests dropped from a batcher before their batch was dispatched because their client had gone, by model.',
      labelNames: ['model'] as const, registers,
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
    leader: new Gauge({ name: 'corral_leader', help: '1 on the gateway that runs the monitors (of gateways sharing one database), else 0.', registers }),
    inferenceTimeouts: new Counter({
      name: 'corral_inference_timeouts_total', help: 'Inference requests answered 504 TIMEOUT because the model ran past its time limit, by model.',
      labelNames: ['model'] as const, registers,
    }),
    remoteQueueWaiting: new Gauge({
      name: 'corral_queue_waiting_jobs', help: 'Jobs waiting in the Redis queue of a service (scale-out mode).',
      labelNames: ['service'] as const, registers,
    }),
    remoteQueueActive: new Gauge({
      name: 'corral_queue_active_jobs', help: 'Jobs being run by remote workers, per service (scale-out mode).',
      labelNames: ['service'] as const, registers,
    }),
    remoteWorkers: new Gauge({
      name: 'corral_remote_workers', help: 'Live remote workers that serve a service (scale-out mode).',
      labelNames: ['service'] as const, registers,
    }),
    jobWait: new Histogram({
      name: 'corral_job_wait_seconds', help: 'Time async jobs spend queued before a worker takes them, per service.',
      labelNames: ['service'] as const, registers, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    }),
    jobs: new Counter({
      name: 'corral_jobs_total', help: 'Async jobs finished, per service and final state.',
      labelNames: ['service', 'state'] as const, registers,
    }),
    keyRequests: new Counter({
      name: 'corral_key_requests_total', help: 'Requests to non-public routes per API key name and HTTP status (401 without a known key: key="").',
      labelNames: ['key', 'status'] as const, registers,
      collect() {
        for (const [key, statuses] of perKey) {
          for (const [status, n] of statuses) if (n > 0) this.inc({ key, status: String(status) }, n);
          statuses.clear();
        }
      },
    }),
    /** One request of an API key (key "" without a valid one) answered with `status`. */
    countKeyRequest(key: string, status: number): void {
      let statuses = perKey.get(key);
      if (!statuses) perKey.set(key, statuses = new Map());
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    },
    serviceWakes: new Counter({
      name: 'corral_service_wakes_total', help: 'Services woken from SLEEPING, PREEMPTED or TIMEOUT by a request (or a start), by service and outcome (ok, failed, timeout).',
      labelNames: ['service', 'outcome'] as const, registers,
    }),
    serviceWakeSeconds: new Histogram({
      name: 'corral_service_wake_seconds', help: 'Time from the start of a wake to the service being RUNNING, by service.',
      labelNames: ['service'] as const, registers, buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    }),
    serviceHeldRequests: new Gauge({
      name: 'corral_service_held_requests', help: 'Requests held while their service wakes, by service.',
      labelNames: ['service'] as const, registers,
    }),
    serviceSleeps: new Counter({
      name: 'corral_service_sleeps_total', help: 'Services put to sleep (SLEEPING) after idle_minutes with no request, by service.',
      labelNames: ['service'] as const, registers,
    }),
    retries: new Counter({
      name: 'corral_inference_retries_total', help: 'Batches re-sent to another worker after their worker died.',
      labelNames: ['model'] as const, registers,
    }),
  };
}

export type CorralMetrics = ReturnType<typeof createMetrics>;
