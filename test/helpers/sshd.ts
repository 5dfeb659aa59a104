/**
 * A real OpenSSH server on a loopback address for tests: its own host key,
 * one authorized client key, key login only. Stands in for a cluster's login node.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestSshd {
  host: string;
  port: number;
  identityFile: string;
  knownHosts: string;
  stop(): void;
}

const portOpen = (host: string, port: number) => new Promise<boolean>((resolve) => {
  const socket = createConnection({ host, port }, () => { socket.end(); resolve(true); });
  socket.on('error', () => resolve(false));
});

export async function startSshd(host = '127.0.0.2'): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-sshd-'));
  const hostKey = join(dir, 'host_key');
  const identityFile = join(dir, 'client_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', identityFile]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`));
  mkdirSync('/run/sshd', { recursive: true });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child: ChildProcess = spawn('/usr/sbin/sshd', [
    '-D', '-e', '-f', '/dev/null', '-p', String(port),
    '-o', `ListenAddress=${host}`, '-o', `HostKey=${hostKey}`, '-o', `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`,
    '-o', `PidFile=${join(dir, 'sshd.pid')}`, '-o', 'StrictModes=no', '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no', '-o', 'PermitRootLogin=prohibit-password', '-o', 'UsePAM=no',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host, port, identityFile, knownHosts: join(dir, 'known_hosts'),
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
