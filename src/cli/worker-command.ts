import { hostname } from 'node:os';
import type { Command } from 'commander';
import pino from 'pino';
import { loadConfig } from '../config/index.js';
import { createMetrics } from '../metrics/index.js';
import { WorkerPool } from '../workers/index.js';
import { api, gatewayOf } from './api-client.js';
import { EXIT, ExitError } from './exit-error.js';
import { formatBytes, printTable } from './output.js';
import { wholeNumber } from './parse-flags.js';

/**
 * `corral worker --redis redis://host:6379`: joins the pool from any machine.
 * One model process per worker (a model is loaded once), `--concurrency` jobs
 * at a time sharing it.
 */
export function registerWorkerCommands(program: Command): void {
  program.command('worker')
    .description('serve models from a Redis queue, on this or any machine (scale-out)')
    .option('--redis <url>', 'Redis URL (CORRAL_REDIS_URL)')
    .option('--services <names>', 'comma-separated services to serve (default: all)')
    .option('--concurrency <n>', 'jobs at once per service (default 1: one per model instance)', wholeNumber('--concurrency', 1, 1024), 1)
    .option('--id <id>', 'worker id shown in `corral workers`')
    .action(async (opts: { redis?: string; services?: string; concurrency: number; id?: string }) => {
      const config = loadConfig(process.env);
      const redisUrl = opts.redis ?? config.redisUrl;
      if (!redisUrl) throw new ExitError('Give the Redis URL with --redis redis://host:6379 or CORRAL_REDIS_URL.', EXIT.USAGE);
      // BullMQ is loaded by this command only, never by `corral start` without Redis.
      const { RemoteWorker } = await import('../queue/remote-worker.js');
      const logger = pino({ level: config.logLevel, name: 'corral-worker' });
      const pool = new WorkerPool({
        size: 1, home: config.home, allowRemoteModels: config.allowRemoteModels,
        // The one model process may use every core.
        threadsPerWorker: config.threadsPerWorker * config.workers,
        memoryBudgetBytes: config.modelMemoryBudgetBytes, readyTimeoutMs: config.requestTimeoutMs,
        metrics: createMetrics(), logger,
      });
      const worker = new RemoteWorker({
        id: opts.id ?? `${hostname()}-${process.pid}`, redisUrl, prefix: config.queuePrefix,
        services: opts.services ? opts.services.split(',').map((s) => s.trim()).filter(Boolean) : [],
        concurrency: opts.concurrency, lockDurationMs: config.lockDurationMs, pool, logger,
      });
      await worker.start();
      logger.info({ redis: redisUrl, services: opts.services ?? 'all' }, 'worker started');
      const stop = () => void worker.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program.command('workers')
    .description('list the workers the gateway can use (local processes, or remote workers in Redis mode)')
    .action(async (_o: unknown, cmd: Command) => {
      const rows = await api<Array<Record<string, unknown> & { rssBytes: number; services?: string[] }>>(gatewayOf(cmd), 'GET', '/api/workers');
      const json = Boolean(cmd.optsWithGlobals().json);
      printTable(json ? rows : rows.map((r) => ({ ...r, rss: formatBytes(r.rssBytes), services: r.services?.length ? r.services.join(',') : 'all' })),
        ['id', 'host', 'pid', 'state', 'services', 'concurrency', 'outstanding', 'rss', 'restarts'], json);
    });
}
