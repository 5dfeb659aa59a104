import { hostname } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { startServer } from '../gateway/index.js';
import { decodeHostSpec, type HostSpec } from '../services/index.js';
import type { Task } from '../services/index.js';
import { EXIT, ExitError } from './exit-error.js';

/** Tells the gateway how this host ended up: its endpoint, or why it could not serve. */
async function report(gateway: string, id: string, body: { endpoint?: string; error?: string }): Promise<void> {
  const res = await fetch(`${gateway}/api/services/${encodeURIComponent(id)}/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).catch((err: Error) => { throw new ExitError(`Cannot reach the gateway at ${gateway}: ${err.message}`, EXIT.UNREACHABLE); });
  if (!res.ok) throw new ExitError(`The gateway refused the registration: ${await res.text()}`, EXIT.FAILURE);
}

/**
 * `corral host`: what a Slurm job runs. Starts a Corral on this node holding
 * one service, loads it, and registers its endpoint with the gateway (or
 * reports why it failed, then exits non-zero so the scheduler records FAILED).
 */
export function registerHost(program: Command): void {
  program.command('host', { hidden: true })
    .description('serve one service inside a cluster job and register it with the gateway')
    .requiredOption('--spec <base64>', 'the service definition, as the gateway encodes it')
    .requiredOption('--gateway <url>', 'the gateway to register with')
    .action(async (opts: { spec: string; gateway: string }) => {
      let spec: HostSpec;
      try {
        spec = decodeHostSpec(opts.spec);
      } catch {
        throw new ExitError('--spec is not a service definition.', EXIT.USAGE);
      }
      const address = process.env.CORRAL_SERVICE_HOST_ADDRESS;
      const server = await startServer(loadConfig(process.env, { host: address ?? '0.0.0.0', port: 0 }));
      const stop = async () => { await server.close(); };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
      const local = await server.corral.services.create({
        name: spec.name, runtime: spec.runtime, task: spec.task as Task, model: spec.model, modelPath: spec.modelPath,
        revision: spec.revision, options: spec.options, replicas: spec.replicas, batching: spec.batching, profile: 'local',
      }, 'STARTING').catch(async (err: Error) => {
        await report(opts.gateway, spec.id, { error: err.message });
        await stop();
        throw new ExitError(err.message);
      });
      const started = await server.corral.runner.start(local);
      if (started.status !== 'RUNNING') {
        await report(opts.gateway, spec.id, { error: started.reason ?? `service ended ${started.status}` });
        await stop();
        throw new ExitError(`Service ${spec.name} could not start: ${started.reason}`);
      }
      const port = new URL(server.url).port;
      await report(opts.gateway, spec.id, { endpoint: `http://${address ?? hostname()}:${port}` });
      server.corral.logger.info({ service: spec.name, url: server.url }, 'hosting service');
    });
}
