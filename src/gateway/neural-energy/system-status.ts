import { freemem, totalmem } from 'node:os';
import type { Principal } from '../../auth/index.js';
import type { WorkerInfo } from '../../dispatch/inference-dispatcher.js';
import type { ServiceRegistry } from '../../services/index.js';
import { neTime } from './reply-fields.js';
import { VERSION } from '../version.js';

const GB = 1024 ** 3;
const gb = (bytes: number) => Math.round((bytes / GB) * 100) / 100;
const round2 = (n: number) => Math.round(n * 100) / 100;

export interface SystemStatus {
  info: string;
  mem_avail: number;
  mem_gateway: number;
  mem_servers: Record<string, number>;
  mem_sys: number;
  mem_total: number;
  mem_used: number;
}

export interface MemorySnapshot {
  totalBytes: number;
  availBytes: number;
  gatewayRssBytes: number;
  /** Local workers only: remote ones run on other machines. */
  workers: Array<Pick<WorkerInfo, 'rssBytes' | 'loadedModels' | 'state'>>;
}

export const STATUS_INFO = 'Memory Size is in GB. Total and avail mem may be reported inconsistently in containers. '
  + 'mem_servers: each worker process\'s memory shared among the services it holds; mem_used: gateway and servers; mem_sys: the rest in use.';

/**
 * Neural Energy's memory report, in GB with two decimals, computed as the
 * original's numbers relate: mem_used = mem_gateway + the mem_servers, and
 * mem_sys = mem_total - mem_avail - mem_used (everything else in use, idle
 * workers included). `serviceOf` names the service of a worker's model key;
 * `visible` hides services the caller may not see (the totals still count them).
 */
export function systemStatus(memory: MemorySnapshot, serviceOf: (modelKey: string) => string | undefined, visible: (service: string) => boolean): SystemStatus {
  const servers = new Map<string, number>();
  for (const w of memory.workers) {
    if (w.state === 'exited') continue;
    const names = [...new Set(w.loadedModels.map(serviceOf).filter((n): n is string => n !== undefined))];
    for (const name of names) servers.set(name, (servers.get(name) ?? 0) + w.rssBytes / names.length);
  }
  const mem_servers = Object.fromEntries([...servers].sort(([a], [b]) => a.localeCompare(b)).map(([name, bytes]) => [name, gb(bytes)]));
  const mem_gateway = gb(memory.gatewayRssBytes);
  const mem_total = gb(memory.totalBytes);
  const mem_avail = gb(memory.availBytes);
  const mem_used = round2(mem_gateway + Object.values(mem_servers).reduce((a, b) => a + b, 0));
  const mem_sys = round2(Math.max(0, mem_total - mem_avail - mem_used));
  const shown = Object.fromEntries(Object.entries(mem_servers).filter(([name]) => visible(name)));
  return { info: STATUS_INFO, mem_avail, mem_gateway, mem_servers: shown, mem_sys, mem_total, mem_used };
}

/**
 * The service a worker's cached model belongs to: `service:<id>@<updated>` for
 * created services, `<name>@<version>` for uploaded ONNX models.
 */
export function serviceOfModelKey(services: ServiceRegistry, key: string): string | undefined {
  const at = key.lastIndexOf('@');
  if (at <= 0) return undefined;
  const head = key.slice(0, at);
  return head.startsWith('service:') ? services.find(head.slice('service:'.length))?.name : services.find(head)?.name;
}

/** The whole answer of GET /system_status and /run {"SIGNATURE": "SYSTEM_STATUS"}, with this machine's numbers. */
export function systemStatusReply(services: ServiceRegistry, workers: WorkerInfo[], principal: Principal) {
  const snapshot: MemorySnapshot = {
    totalBytes: totalmem(), availBytes: freemem(), gatewayRssBytes: process.memoryUsage.rss(),
    workers: workers.filter((w) => w.host === undefined),
  };
  const status = systemStatus(snapshot, (key) => serviceOfModelKey(services, key), (name) => principal.canUse(name));
  return { SYSTEM_STATUS: status, time: neTime(), ver: VERSION };
}
