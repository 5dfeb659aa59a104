/**
 * Debian's nginx running deploy/nginx.conf (the file docs/deploy.md documents) with
 * the test's ports: the upstream gateways and the listen address are swapped in,
 * nothing else changes. Runs in the foreground in a temp prefix; stop() ends it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEPLOY_NGINX_CONF = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url));
const DOCUMENTED = { listen: 'listen 127.0.0.1:8000;', upstreams: ['server 127.0.0.1:8001 ', 'server 127.0.0.1:8002 '] };

export interface RunningNginx {
  url: string;
  stop(): Promise<void>;
}

/** deploy/nginx.conf with `port` as the listen port and `gateways` as the two upstream ports. */
export function renderNginxConf(port: number, gateways: [number, number]): string {
  let conf = readFileSync(DEPLOY_NGINX_CONF, 'utf8');
  const swap = (from: string, to: string) => {
    if (!conf.includes(from)) throw new Error(`deploy/nginx.conf no longer contains '${from}'; update test/helpers/nginx.ts`);
    conf = conf.replace(from, to);
  };
  swap(DOCUMENTED.listen, `listen 127.0.0.1:${port};`);
  swap(DOCUMENTED.upstreams[0]!, `server 127.0.0.1:${gateways[0]} `);
  swap(DOCUMENTED.upstreams[1]!, `server 127.0.0.1:${gateways[1]} `);
  return conf;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export async function startNginx(port: number, gateways: [number, number]): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'corral-nginx-'));
  writeFileSync(join(prefix, 'corral.conf'), renderNginxConf(port, gateways));
  writeFileSync(join(prefix, 'nginx.conf'), [
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} warn;`,
    'worker_processes 1;',
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, t)};`),
    `  include ${join(prefix, 'corral.conf')};`,
    '}',
  ].join('\n'));
  const child = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT'); // graceful: lets open requests finish
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
