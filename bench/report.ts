/** Prints the results as tables and writes them as JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TARGET_RATIO, type BenchResults } from './results.js';

const num = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchResults): string {
  const out: string[] = [];
  out.push(`Corral benchmark — ${r.machine.cpus} cores (${r.machine.cpuModel}), node ${r.machine.node}`);
  out.push(`server: workers=${r.server.workers} threadsPerWorker=${r.server.threadsPerWorker} maxBatchSize=${r.server.maxBatchSize} maxQueueDelayMicroseconds=${r.server.maxQueueDelayMicroseconds} capacity=${r.server.capacity}${r.server.capacityOverridden ? ' (BENCH_CAPACITY experiment)' : ''}`);
  out.push(`load: autocannon, POST /v2/models/<name>/infer (KServe JSON, batch of 1), ${r.settings.durationSec} s per run, loopback`);
  for (const [name, describe] of Object.entries(r.models)) out.push(`  ${name}: ${describe}`);
  out.push('');
  out.push(table(
    ['model', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'worker ms/batch', 'gateway cpu%', 'gateway ELU', 'workers cpu%', 'client cpu%', 'other cpu%', 'rows/server-cpu-s'],
    r.runs.map((run) => [
      run.model, String(run.concurrency), num(run.load.reqPerSec), num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2),
      String(run.load.errors), String(run.load.non2xx), num(run.batching.meanBatchRows, 2), num(run.batching.meanWorkerMsPerBatch, 2),
      num(run.cpu.gatewayPct, 0), num(run.cpu.gatewayEventLoopUtilization, 2),
      Object.values(run.cpu.workersPct).map((p) => (p === undefined ? '?' : num(p, 0))).join('/'),
      run.cpu.clientPct === undefined ? '?' : num(run.cpu.clientPct, 0),
      run.cpu.otherPct === undefined ? '?' : num(run.cpu.otherPct, 0),
      num(run.load.ok / Math.max(1e-9, run.cpu.serverCpuSec), 0),
    ]),
  ));
  out.push('cpu% is of one core over the measured window; "other" is the rest of the machine (a busy neighbour disturbs the numbers).');
  out.push('rows/server-cpu-s: requests served per CPU-second of gateway+workers; compare with the raw rows/cpu-s, it is far less sensitive to neighbours than req/s.');
  out.push('');
  out.push(`Raw onnxruntime-node in-process (intraOpNumThreads=${r.settings.rawThreads}, graphOptimizationLevel=all), ${r.settings.rawSecPerBatch} s per batch size, best of a pass before and after the served runs:`);
  out.push(table(
    ['model', ...(r.raw[0]?.points.map((p) => `b=${p.batch} rows/s`) ?? []), 'best rows/s', 'best batch', 'other cpu% (max)', 'best rows/cpu-s'],
    r.raw.map((raw) => [
      raw.model, ...raw.points.map((p) => num(p.rowsPerSec)), num(raw.best.rowsPerSec), String(raw.best.batch),
      num(Math.max(0, ...raw.points.map((p) => p.otherPct ?? 0)), 0),
      num(Math.max(...raw.points.map((p) => p.rowsPerCpuSec)), 0),
    ]),
  ));
  out.push('');
  const noisy = Math.max(0, ...r.runs.map((run) => run.cpu.otherPct ?? 0), ...r.raw.flatMap((raw) => raw.points.map((p) => p.otherPct ?? 0)));
  if (noisy > 20) out.push(`WARNING: other processes used up to ${num(noisy, 0)}% of a core during the measurements; treat the numbers as approximate.`);
  out.push(`target: served at c=64 >= ${Math.round(TARGET_RATIO * 100)}% of raw best-batch`);
  for (const s of r.summary) {
    out.push(`  ${s.model.padEnd(8)} served(c=${s.concurrency}) ${num(s.servedRowsPerSec)} rows/s / raw best ${num(s.rawBestRowsPerSec)} rows/s (batch ${s.rawBestBatch}) = ${num(s.ratio, 3)}  ${s.meetsTarget ? 'MEETS target' : 'BELOW target'}  (cpu-efficiency ${num(s.cpuEfficiencyRatio, 2)})`);
  }
  for (const run of r.runs.filter((x) => x.gatewayProfile)) {
    out.push('');
    out.push(`gateway profile ${run.model} c=${run.concurrency} (${run.gatewayProfile!.file}), self time of busy samples:`);
    for (const h of run.gatewayProfile!.hot) out.push(`  ${num(h.selfPct).padStart(5)}%  ${h.name}  ${h.where}`);
  }
  if (r.serverErrors.length) {
    out.push('');
    out.push('SERVER ERRORS:');
    for (const e of r.serverErrors) out.push(`  ${e}`);
  }
  return out.join('\n');
}

export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
