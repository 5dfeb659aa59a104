/**
 * Child-process entry that drives autocannon against one URL and reports back
 * over IPC. A separate process keeps the load generator off the gateway's event
 * loop, and the 'response' event gives sub-millisecond latencies (autocannon's
 * own histogram rounds to whole milliseconds).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { ClientMessage, LoadResult, LoadSpec } from './load-types.js';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A request whose body is the next of `bodies` each time it is sent, whichever connection sends it. */
function rotating(bodies: string[]): autocannon.Request {
  let next = 0;
  return { method: 'POST', setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) };
}

/** One autocannon run: `length.seconds` of load, or exactly `length.amount` requests (stopped at `maxSec`). */
function fire(spec: LoadSpec, length: { seconds: number } | { amount: number; maxSec?: number }, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    let cap: NodeJS.Timeout | undefined;
    const instance = autocannon({
      url: spec.url,
      method: 'POST',
      headers: spec.headers ?? { 'content-type': 'application/json' },
      body: spec.bodyFile ? readFileSync(spec.bodyFile) : spec.body,
      ...(spec.bodiesFile ? { requests: [rotating(JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) as string[])] } : {}),
      connections: spec.connections,
      // autocannon notices the end of a run on its sampling tick: check often when counting requests.
      ...('amount' in length ? { amount: length.amount, sampleInt: 50 } : { duration: length.seconds }),
      timeout: 30,
    }, (err, result) => {
      clearTimeout(cap);
      if (err) reject(err);
      else resolve(result);
    });
    if ('amount' in length && length.maxSec) cap = setTimeout(() => instance.stop(), length.maxSec * 1000);
    if (onLatency) instance.on('response', (_client, _status, _bytes, ms) => onLatency(ms));
  });
}

function send(message: ClientMessage, last = false): void {
  if (!process.send) throw new Error('load-client.ts runs as a child of bench/serve-load.ts (IPC needed)');
  process.send(message, () => (last ? process.disconnect?.() : undefined));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec;
  if (spec.amount !== undefined) {
    if (spec.warmupAmount) await fire(spec, { amount: spec.warmupAmount, maxSec: spec.maxSec });
  } else if (spec.warmupSec > 0) await fire(spec, { seconds: spec.warmupSec });
  const latencies: number[] = [];
  send({ type: 'measuring' });
  const cpuBefore = process.cpuUsage();
  const length = spec.amount !== undefined ? { amount: spec.amount, maxSec: spec.maxSec } : { seconds: spec.durationSec };
  const started = performance.now();
  let lastResponse = started;
  const result = await fire(spec, length, (ms) => {
    latencies.push(ms);
    lastResponse = performance.now();
  });
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = Float64Array.from(latencies).sort();
  // autocannon ends a run on its 1 s sampling tick, so an `amount` run's own duration is rounded
  // up to whole seconds; such a run lasts until its last response.
  const seconds = spec.amount !== undefined ? Math.max(1e-3, (lastResponse - started) / 1000) : result.duration;
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
