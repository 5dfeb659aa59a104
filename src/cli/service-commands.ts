import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { api, gatewayOf } from './api-client.js';
import { EXIT, ExitError } from './exit-error.js';
import { printRecord, printTable } from './output.js';
import { waitForState } from './wait-for-state.js';
import { wholeNumber } from './parse-flags.js';

/** Parses a flag that takes a number above 0, fractions allowed, failing with a one-line usage error (exit 2). */
function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new ExitError(`${flag} must be a number above 0, got '${value}'.`, EXIT.USAGE);
    return n;
  };
}

interface ServiceView { id: string; name: string; task: string; runtime: string; model: string; profile: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null; created_at: string; warning?: string }

const COLUMNS = ['id', 'name', 'task', 'model', 'profile', 'status', 'created_at'];
const FILTER_KEYS = ['id', 'name', 'task', 'status', 'profile', 'runtime', 'model'];

/** Parses `--filter id=abc,status=running` into key → value. */
export function parseFilter(filter: string | undefined): Record<string, string> {
  if (!filter) return {};
  const out: Record<string, string> = {};
  for (const part of filter.split(',')) {
    const [key, value] = part.split('=');
    if (!key || value === undefined || !FILTER_KEYS.includes(key.trim())) {
      throw new ExitError(`Bad filter '${part}': use key=value with keys ${FILTER_KEYS.join(', ')}.`, EXIT.USAGE);
    }
    out[key.trim()] = value.trim();
  }
  return out;
}

const matches = (s: ServiceView, filter: Record<string, string>) => Object.entries(filter).every(([k, v]) => {
  const field = String(s[k as keyof ServiceView] ?? '');
  return k === 'id' ? field.startsWith(v) : field.toLowerCase() === v.toLowerCase();
});

/** The first request a `corral fetch` without a route sends, by task. */
const DEFAULT_ROUTE: Record<string, (text: string) => [string, unknown]> = {
  'feature-extraction': (t) => ['embed', { sentences: [t] }],
  keyterms: (t) => ['keyterms', { sentences: [t] }],
  'text-generation': (t) => ['generate', { inputs: t, parameters: { max_new_tokens: 64 } }],
};

export function registerServiceCommands(program: Command): void {
  const json = (cmd: Command) => Boolean(cmd.optsWithGlobals().json);

  program.command('run')
    .description('start a service: corral run text-generation --model bigscience/bloom-560m --profile hpc')
    .argument('<task>', 'task, e.g. feature-extraction, text-generation, keyterms, ocr')
    .option('--model <model>', 'local directory or Hugging Face id (transformers services)')
    .option('--profile <profile>', 'where to run it (corral profile ls)', 'local')
    .option('--name <name>', 'service name (default: <task>-<random>)')
    .option('--runtime <runtime>', 'runtime (default: the task\'s own)')
    .option('--revision <revision>', 'model revision to use')
    .option('--replicas <n>', 'worker processes that may hold the model', wholeNumber('--replicas', 1, 256))
    .option('--idle-minutes <minutes>', 'scale to zero: sleep after this many minutes without a request (fractions allowed); the next request wakes it', positiveNumber('--idle-minutes'))
    .option('--no-wake', 'with --idle-minutes: a request does not wake it (503 while it sleeps; POST /api/services/<name>/start wakes it)')
    .option('--no-wait', 'print the id and return without waiting for RUNNING')
    .option('--timeout <seconds>', 'how long to wait for RUNNING', wholeNumber('--timeout', 1, 86400), 600)
    .action(async (task: string, opts: { model?: string; profile: string; name?: string; runtime?: string; revision?: string; replicas?: number; idleMinutes?: number; wake: boolean; wait: boolean; timeout: number }, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      const name = opts.name ?? `${task}-${randomBytes(2).toString('hex')}`;
      const created = await api<ServiceView>(gateway, 'POST', '/api/services', {
        name, task, model: opts.model, profile: opts.profile, runtime: opts.runtime, revision: opts.revision, replicas: opts.replicas,
        idle_minutes: opts.idleMinutes, wake_on_request: opts.wake === false ? false : undefined,
      });
      if (created.warning) console.error(`warning: ${created.warning}`);
      if (!opts.wait) {
        console.log(json(cmd) ? JSON.stringify(created, null, 2) : created.id);
        return;
      }
      const final = await waitForState(gateway, created.id, ['RUNNING', 'FAILED', 'STOPPED', 'TIMEOUT'], opts.timeout * 1000, `starting ${name}`);
      console.log(json(cmd) ? JSON.stringify(final, null, 2) : created.id);
      if (final.status !== 'RUNNING') {
        throw new ExitError(`Service ${name} is ${final.status}${final.reason ? `: ${final.reason}` : ''}`, EXIT.FAILURE);
      }
    });

  program.command('ls')
    .description('list services')
    .option('--filter <filters>', `comma-separated key=value (${FILTER_KEYS.join(', ')})`)
    .action(async (opts: { filter?: string }, cmd: Command) => {
      const filter = parseFilter(opts.filter);
      const services = (await api<ServiceView[]>(gatewayOf(cmd), 'GET', '/api/services')).filter((s) => matches(s, filter));
      printTable(services.map((s) => ({ ...s, id: json(cmd) ? s.id : s.id.slice(0, 13) })), COLUMNS, json(cmd));
    });

  program.command('details')
    .description('show one service')
    .argument('<id>', 'service id or name')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      printRecord(await api<Record<string, unknown>>(gatewayOf(cmd), 'GET', `/api/services/${encodeURIComponent(id)}`), json(cmd));
    });

  program.command('stop')
    .description('stop a service (it stays listed until corral rm)')
    .argument('<id>', 'service id or name')
    .option('--timeout <seconds>', 'how long to wait for STOPPED', wholeNumber('--timeout', 1, 3600), 120)
    .action(async (id: string, opts: { timeout: number }, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      await api(gateway, 'POST', `/api/services/${encodeURIComponent(id)}/stop`);
      const final = await waitForState(gateway, id, ['STOPPED', 'FAILED', 'TIMEOUT'], opts.timeout * 1000, `stopping ${id}`);
      if (json(cmd)) console.log(JSON.stringify(final, null, 2));
      else console.log(`${final.name} ${final.status}`);
    });

  program.command('rm')
    .description('delete a service (stopping it first)')
    .argument('<id>', 'service id or name')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const out = await api<{ deleted: string; name: string }>(gatewayOf(cmd), 'DELETE', `/api/services/${encodeURIComponent(id)}`);
      console.log(json(cmd) ? JSON.stringify(out) : `deleted ${out.name} (${out.deleted})`);
    });

  program.command('fetch')
    .description('send a request to a service: corral fetch <id> generate --data \'{"inputs": "Hello"}\', or corral fetch <id> --text "Hello"')
    .argument('<id>', 'service id or name')
    .argument('[route]', 'the service route (embed, keyterms, generate, v1/embeddings, v1/chat/completions, ...)')
    .option('-d, --data <json>', 'JSON body')
    .option('--text <text>', 'a text; the route and body follow from the service\'s task')
    .action(async (id: string, route: string | undefined, opts: { data?: string; text?: string }, cmd: Command) => {
      const gateway = gatewayOf(cmd);
      let body: unknown;
      if (opts.data !== undefined) {
        try {
          body = JSON.parse(opts.data);
        } catch (err) {
          throw new ExitError(`--data is not valid JSON: ${(err as Error).message}`, EXIT.USAGE);
        }
      }
      if (!route) {
        const service = await api<ServiceView>(gateway, 'GET', `/api/services/${encodeURIComponent(id)}`);
        const pick = DEFAULT_ROUTE[service.task];
        if (!pick || opts.text === undefined) throw new ExitError(`Name a route (and --data) for a ${service.task} service, or use --text with an embedding, keyterms or generation service.`, EXIT.USAGE);
        [route, body] = pick(opts.text);
      }
      const out = await api<unknown>(gateway, 'POST', `/services/${encodeURIComponent(id)}/${route.replace(/^\//, '')}`, body ?? {});
      console.log(JSON.stringify(out, null, json(cmd) ? 2 : undefined));
    });
}
