import type { Command } from 'commander';
import { api, gatewayOf } from './api-client.js';
import { formatBytes, printTable } from './output.js';
import { wholeNumber } from './parse-flags.js';

const PROFILE_COLUMNS = ['name', 'type', 'host', 'user', 'home_dir', 'cache_dir', 'partition', 'time_limit', 'gpus', 'memory', 'cpus'];

/** Flags shared by create and update, mapped to profiles.cfg keys. */
function withProfileFlags(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'login node (localhost: run Slurm commands here, else over SSH)')
    .option('--user <user>', 'user on the login node')
    .option('--port <port>', 'SSH port of the login node', wholeNumber('--port', 1, 65535))
    .option('--identity-file <path>', 'SSH private key (keys only; no passwords)')
    .option('--home-dir <dir>', 'your directory there (models you download go here)')
    .option('--cache-dir <dir>', 'shared read-only model cache')
    .option('--partition <name>', 'Slurm partition')
    .option('--time-limit <limit>', 'Slurm time limit: minutes or [days-]hh:mm:ss')
    .option('--gpus <n>', 'GPUs per service', wholeNumber('--gpus', 0, 64))
    .option('--memory <size>', 'memory per service, e.g. 16G')
    .option('--cpus <n>', 'CPUs per service', wholeNumber('--cpus', 1, 1024))
    .option('--project <project>', 'gce: the Google Cloud project')
    .option('--zone <zone>', 'gce: the zone of the instances, e.g. us-central1-a')
    .option('--region <region>', 'ec2: the region, e.g. us-east-1')
    .option('--instances <list>', 'boxes: comma-separated instance names (gce, command) or ids (ec2)')
    .option('--endpoint-url <url>', "gce, ec2: the API's address instead of the cloud's own")
    .option('--start-command <command>', 'command: starts the box given as $1')
    .option('--stop-command <command>', 'command: stops the box given as $1')
    .option('--status-command <command>', 'command: prints the state of the box given as $1 (and its address after it)')
    .option('--max-restarts <n>', "boxes: restarts of a preempted box's services before they are FAILED", wholeNumber('--max-restarts', 0, 1000));
}

type ProfileFlags = {
  type?: string; host?: string; user?: string; port?: number; identityFile?: string; homeDir?: string; cacheDir?: string; partition?: string; timeLimit?: string; gpus?: number; memory?: string; cpus?: number;
  project?: string; zone?: string; region?: string; instances?: string; endpointUrl?: string; startCommand?: string; stopCommand?: string; statusCommand?: string; maxRestarts?: number;
};
const body = (o: ProfileFlags) => ({
  type: o.type, host: o.host, user: o.user, port: o.port, identity_file: o.identityFile, home_dir: o.homeDir, cache_dir: o.cacheDir,
  partition: o.partition, time_limit: o.timeLimit, gpus: o.gpus, memory: o.memory, cpus: o.cpus,
  project: o.project, zone: o.zone, region: o.region, instances: o.instances, endpoint_url: o.endpointUrl,
  start_command: o.startCommand, stop_command: o.stopCommand, status_command: o.statusCommand, max_restarts: o.maxRestarts,
});

export function registerProfileCommands(program: Command): void {
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);
  const profile = program.command('profile').description('manage profiles (where services run), stored in CORRAL_HOME/profiles.cfg');

  profile.command('ls').description('list profiles').action(async (_o: unknown, cmd: Command) => {
    printTable(await api<Array<Record<string, unknown>>>(gatewayOf(cmd), 'GET', '/api/profiles'), PROFILE_COLUMNS, json(cmd));
  });

  withProfileFlags(profile.command('create').description('create a profile').argument('<name>')
    .requiredOption('--type <type>', 'local, slurm, gce, ec2 or command'))
    .action(async (name: string, opts: ProfileFlags, cmd: Command) => {
      const created = await api<Record<string, unknown>>(gatewayOf(cmd), 'POST', '/api/profiles', { name, ...body(opts) });
      console.log(json(cmd) ? JSON.stringify(created, null, 2) : `created profile ${name}`);
    });

  withProfileFlags(profile.command('update').description('change a profile').argument('<name>').option('--type <type>', 'local, slurm, gce, ec2 or command'))
    .option('--unset <keys>', 'comma-separated profiles.cfg keys to clear, e.g. gpus,memory')
    .action(async (name: string, opts: ProfileFlags & { unset?: string }, cmd: Command) => {
      // Cleared keys go as null (a JSON merge patch); the gateway names any key it does not know.
      const cleared = Object.fromEntries((opts.unset ?? '').split(',').map((k) => k.trim()).filter(Boolean).map((k) => [k, null]));
      const updated = await api<Record<string, unknown>>(gatewayOf(cmd), 'PATCH', `/api/profiles/${encodeURIComponent(name)}`, { ...body(opts), ...cleared });
      console.log(json(cmd) ? JSON.stringify(updated, null, 2) : `updated profile ${name}`);
    });

  profile.command('delete').description('delete a profile').argument('<name>').action(async (name: string, _o: unknown, cmd: Command) => {
    await api(gatewayOf(cmd), 'DELETE', `/api/profiles/${encodeURIComponent(name)}`);
    console.log(json(cmd) ? JSON.stringify({ deleted: name }) : `deleted profile ${name}`);
  });

  const models = program.command('models').description('the model registry: what each profile has on disk');
  models.command('ls').description('list models available on a profile')
    .option('--profile <name>', 'profile', 'local')
    .option('--refresh', 're-scan the profile\'s cache_dir and home_dir')
    .option('--task <task>', 'only models for this task, e.g. text-generation')
    .action(async (opts: { profile: string; refresh?: boolean; task?: string }, cmd: Command) => {
      const query = new URLSearchParams({ profile: opts.profile, ...(opts.refresh ? { refresh: 'true' } : {}), ...(opts.task ? { task: opts.task } : {}) });
      const rows = await api<Array<Record<string, unknown> & { size_bytes: number }>>(gatewayOf(cmd), 'GET', `/models?${query.toString()}`);
      printTable(json(cmd) ? rows : rows.map((r) => ({ ...r, size: formatBytes(r.size_bytes) })), ['model', 'revision', 'profile', 'task', 'source', 'size', 'path'], json(cmd));
    });
}
