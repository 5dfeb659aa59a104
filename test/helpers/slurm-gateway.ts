/** A gateway beside the real single-node Slurm test cluster, with a tiny BERT to serve and a user's home_dir. */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTinyBert } from '../fixtures/transformers/index.js';
import { startTestServer, type TestServer } from './test-server.js';

export interface SlurmGateway {
  server: TestServer;
  /** A feature-extraction model folder. */
  bert: string;
  /** The profile's home_dir (made, empty). */
  homeDir: string;
}

export async function startSlurmGateway(): Promise<SlurmGateway> {
  execFileSync('bash', ['scripts/slurm/setup-local-cluster.sh'], { stdio: 'inherit', timeout: 300_000 });
  // Jobs on this machine reach the gateway, and are reached, on loopback.
  process.env.CORRAL_SERVICE_HOST_ADDRESS = '127.0.0.1';
  const server = await startTestServer({ workers: 1 });
  const bert = join(server.home, 'tiny-bert');
  await writeTinyBert(bert, { task: 'feature-extraction' });
  const homeDir = join(server.home, 'alice');
  mkdirSync(homeDir, { recursive: true });
  return { server, bert, homeDir };
}

/** The profile most Slurm suites use: `hpc`, this machine's cluster, 10 minutes, 1 CPU, 2G (plus `extra` keys). */
export async function createHpcProfile(gateway: SlurmGateway, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${gateway.server.url}/api/profiles`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hpc', type: 'slurm', host: 'localhost', home_dir: gateway.homeDir, partition: 'debug', time_limit: '10', cpus: 1, memory: '2G', ...extra }),
  });
  if (res.status !== 201) throw new Error(`creating the hpc profile: ${res.status} ${await res.text()}`);
}

/** Cancels the suite's jobs (Slurm names them corral-<service>) and closes its gateway. */
export async function stopSlurmGateway(server: TestServer | undefined, services: string[]): Promise<void> {
  // One name per scancel: with several --name options only the last is cancelled.
  for (const s of services) {
    try {
      execFileSync('scancel', ['--name', `corral-${s}`]);
    } catch { /* nothing left */ }
  }
  await server?.close();
}
