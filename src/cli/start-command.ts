import type { Command } from 'commander';
import { adminKeyPath } from '../auth/index.js';
import { loadConfig } from '../config/index.js';
import { startServer } from '../gateway/index.js';
import { ExitError } from './exit-error.js';
import { wholeNumber } from './parse-flags.js';


/** `corral start`: the gateway and its local workers, until SIGINT/SIGTERM. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the gateway and its worker processes (state in CORRAL_HOME, default ~/.corral)')
    .option('--host <host>', 'address to listen on (CORRAL_HOST)')
    .option('--port <port>', 'port to listen on (CORRAL_PORT)', wholeNumber('--port', 0, 65535))
    .option('--workers <n>', 'worker processes (CORRAL_WORKERS; default one per core)', wholeNumber('--workers', 1, 256))
    .option('--home <dir>', 'state directory (CORRAL_HOME)')
    .action(async (opts: { host?: string; port?: number; workers?: number; home?: string }) => {
      const env = { ...process.env, ...(opts.home ? { CORRAL_HOME: opts.home } : {}) };
      let config;
      try {
        config = loadConfig(env, {
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        });
      } catch (err) {
        throw new ExitError((err as Error).message, 2);
      }
      const server = await startServer(config).catch((err: NodeJS.ErrnoException) => {
        throw new ExitError(err.code === 'EADDRINUSE' ? `Port ${config.port} is in use; pick another with --port or CORRAL_PORT.` : err.message);
      });
      server.corral.logger.info({ url: server.url, home: config.home, workers: config.workers }, `Corral is listening on ${server.url} (web UI ${server.url}/ui/, API reference ${server.url}/docs)`);
      if (server.newAdminKey) {
        // Shown once; the file keeps it for the CLI (mode 0600).
        console.log(`\nAdmin API key (shown once; also saved to ${adminKeyPath(config.home)}, readable only by you):\n\n  ${server.newAdminKey}\n\n`
          + `Web UI: ${server.url}/ui/ (log in with this key) · API reference: ${server.url}/docs\n`
          + `Use it as: curl -H "Authorization: Bearer $(cat ${adminKeyPath(config.home)})" ${server.url}/api/v1/models\n`
          + 'Create scoped keys for clients with: npx corral keys create <name> --scopes read,infer\n');
      } else if (config.auth.mode === 'off') {
        server.corral.logger.warn('CORRAL_AUTH=off: every route is open to anyone who can reach this address.');
      }
      const stop = async () => {
        server.corral.logger.info('shutting down');
        await server.close();
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
