/**
 * Child-process entry that drives autocannon against one URL and reports back
 * over IPC. A separate process keeps the load generator off the gateway's event
 * loop, and the 'response' event gives sub-millisecond latencies (autocannon's
 * own histogram rounds to whole milliseconds).
 */
import autocannon from 'autocannon';
import type { ClientMessage, LoadResult, LoadSpec } from './load-types.js';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function fire(spec: LoadSpec, seconds: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: spec.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: spec.body,
      connections: spec.connections,
      duration: seconds,
      timeout: 30,
    }, (err, result) => (err ? reject(err) : resolve(result)));
    if (onLatency) instance.on('response', (_client, _status, _bytes, ms) => onLatency(ms));
  });
}

function send(message: ClientMessage, last = false): void {
  if (!process.send) throw new Error('load-client.ts runs as a child of bench/serve-load.ts (IPC needed)');
  process.send(message, () => (last ? process.disconnect?.() : undefined));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec;
  if (spec.warmupSec > 0) await fire(spec, spec.warmupSec);
  const latencies: number[] = [];
  send({ type: 'measuring' });
  const cpuBefore = process.cpuUsage();
  const result = await fire(spec, spec.durationSec, (ms) => latencies.push(ms));
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = Float64Array.from(latencies).sort();
  const seconds = result.duration;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
  const report: LoadResult = {
    connections: spec.connections,
    durationSec: seconds,
    requests: result['2xx'] + result.non2xx,
    ok: result['2xx'],
    reqPerSec: result['2xx'] / seconds,
    latencyMs: {
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    clientCpuSec: (cpu.user + cpu.system) / 1e6,
  };
  send({ type: 'result', result: report }, true);
}

main().catch((err: unknown) => {
  send({ type: 'error', error: (err as Error).stack ?? String(err) }, true);
});
