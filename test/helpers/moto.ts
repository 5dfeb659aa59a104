/**
 * moto_server (an EC2 stand-in) on 127.0.0.1 for tests, and the real `aws` CLI
 * pointed at it with moto's test credentials.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface TestMoto {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Runs `aws --endpoint-url <url> ...args` and returns its JSON output (null when it printed nothing). */
  aws(args: string[]): Promise<any>;
  stop(): void;
}

export const MOTO_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_DEFAULT_REGION: 'us-east-1' };

/** A port nothing listens on right now: bind port 0 and let it go. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<TestMoto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Its own process group, so stop() ends moto and anything the pyenv shim started.
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        stop();
        throw new Error(`moto_server did not start on ${url}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const aws = (args: string[]) => new Promise<any>((resolve, reject) => {
    execFile(
      'aws', ['--endpoint-url', url, '--output', 'json', ...args],
      { env: { ...process.env, ...MOTO_ENV, AWS_PAGER: '', AWS_EC2_METADATA_DISABLED: 'true' }, timeout: 60_000 },
      (error, stdout, stderrOut) => {
        if (error) return reject(new Error(`aws ${args.join(' ')} failed: ${stderrOut || error.message}`));
        try {
          resolve(stdout.trim() === '' ? null : JSON.parse(stdout));
        } catch (e) {
          reject(new Error(`aws ${args.join(' ')} printed no JSON: ${stdout}`, { cause: e }));
        }
      },
    );
  });
  return { url, aws, stop };
}
