/**
 * CPU time of the gateway (this process) and of each worker process, so a run
 * can say who was busy: a gateway near 100% of a core is bound on HTTP/JSON, a
 * worker near threadsPerWorker×100% is bound on compute.
 */
import { readFileSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Linux USER_HZ; 100 on every mainstream kernel build. */
const CLOCK_TICKS = 100;

/** User+system CPU seconds of a process from /proc (undefined off Linux or once it has gone). */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine (all cores) from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - ticks[3]! - ticks[4]!) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export interface CpuSnapshot {
  at: number;
  machineSec: number | undefined;
  gatewaySec: number;
  workers: Record<string, number | undefined>;
  elu: EventLoopUtilization;
}

export interface CpuReport {
  /** Percent of one core over the run. */
  gatewayPct: number;
  /** The load generator (autocannon child process). */
  clientPct: number | undefined;
  /**
   * Everything else on the machine (other processes), percent of one core. Well
   * above 0 means the numbers are disturbed by a neighbour.
   */
  otherPct: number | undefined;
  workersPct: Record<string, number | undefined>;
  /** Share of wall time the gateway's event loop was busy (1 = saturated). */
  gatewayEventLoopUtilization: number;
  /** CPU-seconds the server (gateway + workers) spent in the window. */
  serverCpuSec: number;
}

export function cpuSnapshot(workerPids: Record<string, number | undefined>): CpuSnapshot {
  const u = process.cpuUsage();
  const workers: Record<string, number | undefined> = {};
  for (const [id, pid] of Object.entries(workerPids)) workers[id] = procCpuSeconds(pid);
  return {
    at: performance.now(), machineSec: machineBusySeconds(),
    gatewaySec: (u.user + u.system) / 1e6, workers, elu: performance.eventLoopUtilization(),
  };
}

/** `clientSec`: CPU the load generator reported for the same window. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, clientSec: number | undefined): CpuReport {
  const wall = (b.at - a.at) / 1000;
  const pct = (sec: number) => Math.round((sec / wall) * 1000) / 10;
  const workersPct: Record<string, number | undefined> = {};
  for (const id of Object.keys(b.workers)) {
    const x = a.workers[id];
    const y = b.workers[id];
    workersPct[id] = x === undefined || y === undefined ? undefined : pct(y - x);
  }
  const gatewaySec = b.gatewaySec - a.gatewaySec;
  let otherSec: number | undefined;
  if (a.machineSec !== undefined && b.machineSec !== undefined && clientSec !== undefined) {
    otherSec = b.machineSec - a.machineSec - gatewaySec - clientSec;
    for (const id of Object.keys(b.workers)) otherSec -= (b.workers[id] ?? 0) - (a.workers[id] ?? 0);
    otherSec = Math.max(0, otherSec);
  }
  let serverCpuSec = gatewaySec;
  for (const id of Object.keys(b.workers)) serverCpuSec += (b.workers[id] ?? 0) - (a.workers[id] ?? 0);
  return {
    serverCpuSec,
    gatewayPct: pct(gatewaySec),
    clientPct: clientSec === undefined ? undefined : pct(clientSec),
    otherPct: otherSec === undefined ? undefined : pct(otherSec),
    workersPct,
    gatewayEventLoopUtilization: Math.round(performance.eventLoopUtilization(b.elu, a.elu).utilization * 1000) / 1000,
  };
}
