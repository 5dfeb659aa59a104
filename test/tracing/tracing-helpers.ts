/**
 * Shared by the tracing suites: a gate that holds a worker busy (with
 * hold-worker.mjs preloaded), the gateway's log lines, Server-Timing parsing
 * and single metric values.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Logger } from 'pino';
import { waitFor } from '../helpers/scale-out.js';

export const HOLD_MARKER = 555;
const HOLD_PRELOAD = fileURLToPath(new URL('./hold-worker.mjs', import.meta.url));
const FAULTS_PRELOAD = fileURLToPath(new URL('../fixtures/worker-faults.mjs', import.meta.url));

/**
 * A TCP server the held runs connect to. Sets NODE_OPTIONS and the port for the
 * worker processes started after it (they inherit the environment); `restore` undoes it.
 */
export class HoldGate {
  private readonly waiting: Socket[] = [];
  private readonly arrivals: Array<() => void> = [];
  private readonly saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, CORRAL_TEST_HOLD_PORT: process.env.CORRAL_TEST_HOLD_PORT };
  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.waiting.push(socket);
      this.arrivals.shift()?.();
    });
  }

  static async open(withFaults = false): Promise<HoldGate> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const gate = new HoldGate(server);
    const port = (server.address() as { port: number }).port;
    process.env.CORRAL_TEST_HOLD_PORT = String(port);
    const preload = `--import ${HOLD_PRELOAD}${withFaults ? ` --import ${FAULTS_PRELOAD}` : ''}`;
    process.env.NODE_OPTIONS = `${gate.saved.NODE_OPTIONS ?? ''} ${preload}`.trim();
    return gate;
  }

  /** Resolves once a worker is holding a run (it has connected). */
  async held(): Promise<void> {
    if (this.waiting.length > 0) return;
    await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  /** Lets the oldest held run go on. */
  release(): void {
    const socket = this.waiting.shift();
    if (!socket) throw new Error('no run is held');
    socket.end('go');
  }

  restoreEnv(): void {
    for (const [k, v] of Object.entries(this.saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }

  async close(): Promise<void> {
    for (const s of this.waiting) s.destroy();
    this.server.close();
    this.restoreEnv();
  }
}

/** Every line the gateway's logger (and each request's child logger) writes from now on, parsed. */
export function captureGatewayLog(logger: Logger): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = {
    write: (s: string) => { for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); },
  };
  return lines;
}

export interface ServerTiming { queue: number; batchRows: number; compute: number; total: number }

/** Parses `queue;dur=1.2, batch;desc="4 rows", compute;dur=3.4, total;dur=5.1`, checking its form. */
export function parseServerTiming(header: string | null): ServerTiming {
  if (header === null) throw new Error('no Server-Timing header');
  const m = /^queue;dur=([\d.]+), batch;desc="(\d+) rows?", compute;dur=([\d.]+), total;dur=([\d.]+)$/.exec(header);
  if (!m) throw new Error(`unexpected Server-Timing: ${header}`);
  return { queue: Number(m[1]), batchRows: Number(m[2]), compute: Number(m[3]), total: Number(m[4]) };
}

/** The value of one exact series line of /metrics (`name{labels}`), 0 when absent. */
export async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Waits until `series` reads `value` in /metrics (a condition, polled; never a fixed sleep). */
export function metricReaches(url: string, series: string, value: number): Promise<true> {
  return waitFor(`${series} = ${value}`, async () => (await metric(url, series)) === value || undefined, 30_000, 20);
}

/** The iris input row that makes its run wait at the gate. */
export const HELD_ROW = [HOLD_MARKER, 3.5, 1.4, 0.2];
export const SETOSA = [5.1, 3.5, 1.4, 0.2];
