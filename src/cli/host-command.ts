import { hostname } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { startServer } from '../gateway/index.js';
import { decodeHostSpec, hostCredentialOf, SERVICE_TOKEN_ENV, type HostSpec } from '../services/index.js';
import type { Task } from '../services/index.js';
import { EXIT, ExitError } from './exit-error.js';

/** Tells the gateway how this host ended up: its endpoint, or why it could not serve. The token proves this is the job it launched. */
async function report(gateway: string, id: string, token: string, body: { endpoint?: string; error?: string }): Promise<void> {
  const res = await fetch(`${gateway}/api/services/${encodeURIComponent(id)}/register`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body),
    // The token goes to the gateway named, never wherever a redirect points.
    redirect: 'error',
  }).catch((err: Error) => { throw new ExitError(`Cannot reach the gateway at ${gateway}: ${err.message}`, EXIT.UNREACHABLE); });
  if (!res.ok) throw new ExitError(`The gateway refused the registration: ${await res.text()}`, EXIT.FAILURE);
}

/**
 * `corral host`: what a Slurm job runs. Starts a Corral on this node holding
 * one service, loads it, and registers its endpoint with the gateway (or
 * reports why it failed, then exits non-zero so the scheduler records FAILED).
 *
 * The gateway launches the job with a token in CORRAL_SERVICE_TOKEN (never on
 * the command line). The host registers with it, and answers every route but
 * health only to the credential derived from it, which only that gateway holds.
 */
export function registerHost(program: Command): void {
  program.command('host', { hidden: true })
    .description('serve one service inside a cluster job and register it with the gateway')
    .requiredOption('--spec <base64>', 'the service definition, as the gateway encodes it')
    .requiredOption('--gateway <url>', 'the gateway to register with')
    .action(async (opts: { spec: string; gateway: string }) => {
      const token = process.env[SERVICE_TOKEN_ENV];
      // Read once, then gone: the worker processes this host forks need not inherit it.
      delete process.env[SERVICE_TOKEN_ENV];
      if (!token) {
        throw new ExitError(`${SERVICE_TOKEN_ENV} is not set: \`corral host\` runs inside a job a Corral gateway launched, which gives it the service's token in that variable.`, EXIT.USAGE);
      }
      let spec: HostSpec;
      try {
        spec = decodeHostSpec(opts.spec);
      } catch {
        throw new ExitError('--spec is not a service definition.', EXIT.USAGE);
      }
      const address = process.env.CORRAL_SERVICE_HOST_ADDRESS;
      const config = loadConfig(process.env, { host: address ?? '0.0.0.0', port: 0 });
      const server = await startServer({ ...config, auth: { ...config.auth, hostCredential: hostCredentialOf(token) } });
      const stop = async () => { await server.close(); };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
      // A job started again for the same service finds its earlier run's record in CORRAL_HOME: start afresh.
      const earlier = server.corral.services.find(spec.name);
      if (earlier && !earlier.fromRepository) await server.corral.services.delete(earlier.id);
      const local = await server.corral.services.create({
        name: spec.name, runtime: spec.runtime, task: spec.task as Task, model: spec.model, modelPath: spec.modelPath,
        revision: spec.revision, options: spec.options, replicas: spec.replicas, batching: spec.batching, profile: 'local',
      }, 'STARTING').catch(async (err: Error) => {
        await report(opts.gateway, spec.id, token, { error: err.message });
        await stop();
        throw new ExitError(err.message);
      });
      const started = await server.corral.runner.start(local);
      if (started.status !== 'RUNNING') {
        await report(opts.gateway, spec.id, token, { error: started.reason ?? `service ended ${started.status}` });
        await stop();
        throw new ExitError(`Service ${spec.name} could not start: ${started.reason}`);
      }
      const port = new URL(server.url).port;
      await report(opts.gateway, spec.id, token, { endpoint: `http://${address ?? hostname()}:${port}` });
      server.corral.logger.info({ service: spec.name, url: server.url }, 'hosting service');
    });
}
