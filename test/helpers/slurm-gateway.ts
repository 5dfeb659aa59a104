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
