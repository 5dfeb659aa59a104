/**
 * Section `footprint`: what a default install costs before it serves anything.
 * `corral start` is run exactly as a user runs it (the `corral` bin, compiled
 * JavaScript, SQLite and the in-process queue, no models), a few times:
 *   - startup: from spawn to the first 200 of /v2/health/ready (no model loads);
 *   - the gateway's resident memory once idle, and each worker's before its first model.
 * Resident memory is read from /proc/<pid>/status (VmRSS), as `ps` and the kernel see it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';

const BIN = fileURLToPath(new URL('../bin/corral.js', import.meta.url));
const ROUNDS = 3;
/**
 * When the gateway's memory is read after ready: soon (5 s), and idle (35 s). Start-up leaves
 * V8's young generation grown to its full 2 x 16 MB and old space holding module-loading
 * garbage; V8's memory reducer returns both some 20-30 s after allocation stops (seen: 130 MB
 * at 20 s, 94 MB at 30 s). A gateway idles for hours, so the target is read when idle.
 */
const SOON_MS = 5000;
const IDLE_MS = 35_000;

export const FOOTPRINT_TARGETS = { gatewayIdleMb: 120, startupMs: 1500, workerIdleMb: 80 } as const;

export interface FootprintRound {
  startupMs: number;
  /** 5 s after ready, before V8's memory reducer has run. */
  gatewaySoonMb: number;
  gatewayIdleMb: number;
  workerIdleMb: number[];
}

export interface FootprintSection {
  rounds: FootprintRound[];
  /** Medians over the rounds (the worker figure is the largest worker's). */
  startupMs: number;
  gatewaySoonMb: number;
  gatewayIdleMb: number;
  workerIdleMb: number;
  targets: typeof FOOTPRINT_TARGETS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function residentMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

/** The worker processes the gateway forked (its children running worker-main). */
function workerPids(parent: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-main');
    } catch {
      return false; // exited while we looked
    }
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function oneRound(ctx: BenchContext): Promise<FootprintRound> {
  const home = mkdtempSync(join(tmpdir(), 'corral-footprint-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, CORRAL_HOME: home, CORRAL_AUTH: 'off', CORRAL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = ctx.cleanup.add('stop the footprint gateway', async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  });
  try {
    let startupMs = NaN;
    const deadline = Date.now() + 60_000;
    while (Number.isNaN(startupMs)) {
      if (child.exitCode !== null) throw new Error(`corral start exited with ${child.exitCode} before it was ready`);
      if (Date.now() > deadline) throw new Error('corral start was not ready within 60 s');
      const ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.status === 200, () => false);
      if (ready) startupMs = performance.now() - started;
      else await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, SOON_MS));
    const gatewaySoonMb = residentMb(child.pid!);
    const workerIdleMb = workerPids(child.pid!).map(residentMb);
    await new Promise((r) => setTimeout(r, IDLE_MS - SOON_MS));
    return { startupMs, gatewaySoonMb, gatewayIdleMb: residentMb(child.pid!), workerIdleMb };
  } finally {
    await stop();
  }
}

export async function footprintSection(ctx: BenchContext): Promise<FootprintSection> {
  const rounds: FootprintRound[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const round = await oneRound(ctx);
    ctx.log(`footprint round ${i + 1}: ready in ${round.startupMs.toFixed(0)} ms, gateway ${round.gatewaySoonMb.toFixed(0)} MB at ${SOON_MS / 1000} s, ${round.gatewayIdleMb.toFixed(0)} MB at ${IDLE_MS / 1000} s, workers ${round.workerIdleMb.map((m) => m.toFixed(0)).join('/')} MB`);
    rounds.push(round);
  }
  return {
    rounds,
    startupMs: median(rounds.map((r) => r.startupMs)),
    gatewaySoonMb: median(rounds.map((r) => r.gatewaySoonMb)),
    gatewayIdleMb: median(rounds.map((r) => r.gatewayIdleMb)),
    workerIdleMb: median(rounds.map((r) => Math.max(...r.workerIdleMb))),
    targets: FOOTPRINT_TARGETS,
  };
}

export function footprintBlock(f: FootprintSection): string[] {
  const mark = (value: number, target: number) => `${value.toFixed(0)} (target ≤ ${target}) ${value <= target ? 'ok' : 'MISSED'}`;
  return [
    `footprint: \`corral start\` (compiled, SQLite, in-process queue, no models), median of ${f.rounds.length} rounds`,
    `  start to /v2/health/ready: ${mark(f.startupMs, f.targets.startupMs)} ms`,
    `  gateway resident ${SOON_MS / 1000} s after ready: ${f.gatewaySoonMb.toFixed(0)} MB (before V8's memory reducer)`,
    `  gateway resident, idle ${IDLE_MS / 1000} s: ${mark(f.gatewayIdleMb, f.targets.gatewayIdleMb)} MB`,
    `  worker resident before its first model: ${mark(f.workerIdleMb, f.targets.workerIdleMb)} MB`,
  ];
}
