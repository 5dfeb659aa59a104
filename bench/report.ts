/** Prints the results as tables and writes them as JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HttpRun } from './measure.js';
import { binaryBlock } from './kserve-binary-bench.js';
import { varlenBlock } from './varlen-bench.js';
import { footprintBlock } from './footprint-bench.js';
import { ocrAccuracyBlock } from './ocr-accuracy-bench.js';
import { summaryBlock } from './summary.js';
import { TARGET_RATIO, type AuthSection, type BatchingSection, type BenchResults, type EmbeddingsSection, type GenerationSection, type OcrSection, type QueueSection, type ServiceDescription } from './results.js';

const num = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const cpuCell = (p: number | undefined) => (p === undefined ? '?' : num(p, 0));
const workersCell = (run: HttpRun) => Object.values(run.cpu.workersPct).map(cpuCell).join('/');

/** Every run of every section, for the noisy-neighbour warning. */
function allRuns(r: BenchResults): { otherPct: number | undefined }[] {
  return [
    ...r.runs.map((x) => x.cpu), ...r.raw.flatMap((raw) => raw.points),
    ...(r.embeddings?.runs ?? []).map((x) => x.cpu),
    ...(r.batching ? [r.batching.on.run.cpu, r.batching.off.run.cpu] : []),
    ...(r.ocr?.runs ?? []).map((x) => x.cpu),
    ...[...(r.queue?.inProcess ?? []), ...(r.queue?.redis ?? [])].map((x) => x.cpu),
    ...(r.auth?.runs ?? []).map((x) => x.cpu),
    ...(r.binary ? [r.binary.json.cpu, r.binary.binary.cpu] : []),
    ...(r.varlen ? [r.varlen.mixed.cpu, r.varlen.uniform.cpu, r.varlen.unpadded.cpu] : []),
  ];
}

export function formatReport(r: BenchResults): string {
  const out: string[] = [];
  out.push(`Corral benchmark — ${r.machine.cpus} cores (${r.machine.cpuModel}), node ${r.machine.node}`);
  out.push(`sections: ${r.sections.join(', ')}; ${r.settings.quick ? 'quick, ' : ''}${r.settings.durationSec} s per timed run (after ${r.settings.warmupSec} s warm-up), loopback`);
  out.push(`in-process gateway: workers=${r.server.workers} threadsPerWorker=${r.server.threadsPerWorker} maxBatchSize=${r.server.maxBatchSize} maxQueueDelayMicroseconds=${r.server.maxQueueDelayMicroseconds} capacity=${r.server.capacity}${r.server.capacityOverridden ? ' (BENCH_CAPACITY experiment)' : ''}`);
  if (r.runs.length > 0 || r.raw.length > 0) out.push('', ...kserveBlock(r));
  if (r.embeddings) out.push('', ...embeddingsBlock(r.embeddings));
  if (r.batching) out.push('', ...batchingBlock(r.batching));
  if (r.ocr) out.push('', ...ocrBlock(r.ocr));
  if (r.generation) out.push('', ...generationBlock(r.generation));
  if (r.queue) out.push('', ...queueBlock(r.queue));
  if (r.auth) out.push('', ...authBlock(r.auth));
  if (r.binary) out.push('', ...binaryBlock(r.binary));
  if (r.varlen) out.push('', ...varlenBlock(r.varlen));
  if (r.footprint) out.push('', ...footprintBlock(r.footprint));
  if (r.ocrAccuracy) out.push('', ...ocrAccuracyBlock(r.ocrAccuracy));
  if (r.keytermsQuality) {
    const k = r.keytermsQuality;
    out.push('', `keyterms-quality: ${k.paragraphs} labelled paragraphs, F1@${k.k} ${k.f1.toFixed(3)} (P ${k.precision.toFixed(3)}, R ${k.recall.toFixed(3)}), median ${k.medianMsPerParagraph.toFixed(1)} ms a paragraph`);
  }
  if (r.summaryTable.length > 0) out.push('', ...summaryBlock(r.summaryTable));
  out.push('');
  out.push('cpu% is of one core over the measured window; "other" is the rest of the machine (a busy neighbour disturbs the numbers).');
  const noisy = Math.max(0, ...allRuns(r).map((x) => x.otherPct ?? 0));
  if (noisy > 20) out.push(`WARNING: other processes used up to ${num(noisy, 0)}% of a core during the measurements; treat the numbers as approximate.`);
  if (r.failedSections.length) {
    out.push('');
    out.push('SECTIONS THAT FAILED:');
    for (const f of r.failedSections) out.push(`  ${f.section}: ${f.error}`);
  }
  if (r.serverErrors.length) {
    out.push('');
    out.push('SERVER ERRORS:');
    for (const e of r.serverErrors) out.push(`  ${e}`);
  }
  return out.join('\n');
}

function kserveBlock(r: BenchResults): string[] {
  const out: string[] = [];
  out.push(`== kserve: POST /v2/models/<name>/infer (KServe JSON, batch of 1) vs onnxruntime in-process`);
  for (const [name, describe] of Object.entries(r.models)) out.push(`  ${name}: ${describe}`);
  out.push('');
  out.push(table(
    ['model', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'worker ms/batch', 'gateway cpu%', 'gateway ELU', 'workers cpu%', 'client cpu%', 'other cpu%', 'rows/server-cpu-s'],
    r.runs.map((run) => [
      run.model, String(run.concurrency), num(run.load.reqPerSec), num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2),
      String(run.load.errors), String(run.load.non2xx), num(run.batching.meanBatchRows, 2), num(run.batching.meanWorkerMsPerBatch, 2),
      num(run.cpu.gatewayPct, 0), num(run.cpu.gatewayEventLoopUtilization, 2),
      Object.values(run.cpu.workersPct).map(cpuCell).join('/'),
      cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct),
      num(run.load.ok / Math.max(1e-9, run.cpu.serverCpuSec), 0),
    ]),
  ));
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
  out.push(`target: served at c=64 >= ${Math.round(TARGET_RATIO * 100)}% of raw best-batch`);
  for (const s of r.summary) {
    out.push(`  ${s.model.padEnd(8)} served(c=${s.concurrency}) ${num(s.servedRowsPerSec)} rows/s / raw best ${num(s.rawBestRowsPerSec)} rows/s (batch ${s.rawBestBatch}) = ${num(s.ratio, 3)}  ${s.meetsTarget ? 'MEETS target' : 'BELOW target'}  (cpu-efficiency ${num(s.cpuEfficiencyRatio, 2)})`);
  }
  for (const run of r.runs.filter((x) => x.gatewayProfile)) {
    out.push('');
    out.push(`gateway profile ${run.model} c=${run.concurrency} (${run.gatewayProfile!.file}), self time of busy samples:`);
    for (const h of run.gatewayProfile!.hot) out.push(`  ${num(h.selfPct).padStart(5)}%  ${h.name}  ${h.where}`);
  }
  return out;
}

const serviceLine = (s: ServiceDescription) =>
  `  ${s.name}: runtime ${s.runtime}, replicas ${s.replicas}, max_batch_size ${s.maxBatchSize}; ${s.describe}`;

function embeddingsBlock(e: EmbeddingsSection): string[] {
  const runtimeOf = new Map(e.services.map((s) => [s.name, s.runtime]));
  return [
    `== embeddings: ${e.route}, ${e.sentencesPerRequest} sentence(s) per request (${e.sentences.map((x) => JSON.stringify(x)).join(', ')})`,
    ...e.services.map(serviceLine),
    '',
    table(
      ['service', 'runtime', 'concurrency', 'req/s', 'sentences/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'worker ms/batch', 'gateway cpu%', 'workers cpu%', 'client cpu%', 'other cpu%'],
      e.runs.map((run) => [
        run.target, runtimeOf.get(run.target) ?? '?', String(run.concurrency), num(run.load.reqPerSec), num(run.load.reqPerSec * e.sentencesPerRequest),
        num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2), String(run.load.errors), String(run.load.non2xx),
        num(run.batching.meanBatchRows, 2), num(run.batching.meanWorkerMsPerBatch, 2),
        num(run.cpu.gatewayPct, 0), workersCell(run), cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct),
      ]),
    ),
    'mean batch: sentences per run as the gateway batched them; worker ms/batch: the gateway\'s corral_inference_duration_seconds (IPC round trip included).',
  ];
}

function batchingBlock(b: BatchingSection): string[] {
  const rows = [b.on, b.off].map(({ service, run }) => [
    service.name, String(service.maxBatchSize), String(run.concurrency), num(run.load.reqPerSec), num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2),
    String(run.load.errors), String(run.load.non2xx), num(run.batching.meanBatchRows, 2), num(run.batching.meanWorkerMsPerBatch, 2),
    num(run.cpu.gatewayPct, 0), workersCell(run), cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct),
  ]);
  return [
    `== batching: POST /v1/embeddings on the transformers service at c=${b.concurrency}, default batching vs max_batch_size 1 (same model, replicas ${b.on.service.replicas})`,
    '',
    table(['service', 'max_batch_size', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'worker ms/batch', 'gateway cpu%', 'workers cpu%', 'client cpu%', 'other cpu%'], rows),
    `batching on/off: throughput x${num(b.throughputRatio, 2)}, p99 x${num(b.p99Ratio, 2)}`,
  ];
}

function generationBlock(g: GenerationSection): string[] {
  const s = g.service;
  return [
    `== generation: ${g.route}, ${g.prompts.length} distinct prompts, max_tokens ${g.maxTokens}; service ${s.name} (${s.describe}), replicas ${s.replicas}, max_batch_size ${s.maxBatchSize}`,
    table(['concurrency', 'tokens/s', 'requests', 'failed', 'mean batch', 'batch ms', 'p50 ms', 'p99 ms'],
      g.runs.map((x) => [String(x.concurrency), num(x.tokensPerSec, 0), String(x.requests), String(x.failed), num(x.meanBatchRows, 2), num(x.meanBatchMs, 1), num(x.latencyMs.p50, 0), num(x.latencyMs.p99, 0)])),
    `c=${g.runs.at(-1)?.concurrency} / c=${g.runs[0]?.concurrency} tokens/s: ${num(g.tokensPerSecRatio, 2)}x (target >= ${g.targetRatio}x: ${g.tokensPerSecRatio >= g.targetRatio ? 'met' : 'NOT met'})`,
  ];
}

function ocrBlock(o: OcrSection): string[] {
  return [
    `== ocr: ${o.route}, a ${o.image.width}x${o.image.height} PNG (${o.image.pngBytes} bytes) of ${JSON.stringify(o.image.line)}, read as ${JSON.stringify(o.recognized)}; ${o.imagesPerRun} images per run`,
    serviceLine(o.service),
    '',
    table(
      ['service', 'concurrency', 'images', 'seconds', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'worker ms/image', 'gateway cpu%', 'workers cpu%', 'client cpu%', 'other cpu%'],
      o.runs.map((run) => [
        run.target, String(run.concurrency), String(run.load.ok), num(run.load.durationSec, 1), num(run.load.reqPerSec, 2),
        num(run.load.latencyMs.p50, 1), num(run.load.latencyMs.p99, 1), String(run.load.errors), String(run.load.non2xx),
        num(run.batching.meanWorkerMsPerBatch, 1), num(run.cpu.gatewayPct, 0), workersCell(run), cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct),
      ]),
    ),
  ];
}

/**
 * CPU by role. In-process, every listed process is a model worker. With Redis, `wN` is a
 * `corral worker` (BullMQ, decoding jobs), `wN-model` its model process, `wN-child-*` anything
 * else it started (tsx's esbuild), `redis` the Redis server.
 */
function cpuByRole(run: HttpRun): { model: number[]; worker: number[]; redis: number | undefined } {
  const model = new Map<string, number>();
  const worker = new Map<string, number>();
  let redis: number | undefined;
  for (const [id, pct] of Object.entries(run.cpu.workersPct)) {
    if (id === 'redis') redis = pct;
    else if (!/^w\d+/.test(id)) model.set(id, pct ?? 0);
    else if (id.endsWith('-model')) model.set(id, pct ?? 0);
    else {
      const w = id.split('-')[0]!;
      worker.set(w, (worker.get(w) ?? 0) + (pct ?? 0));
    }
  }
  return { model: [...model.values()], worker: [...worker.values()], redis };
}

function queueBlock(q: QueueSection): string[] {
  const row = (mode: string, run: HttpRun & { redisCommands?: number }) => {
    const cpu = cpuByRole(run);
    const modelCpuSec = (cpu.model.reduce((a, b) => a + b, 0) / 100) * run.load.durationSec;
    return [
      mode, String(run.concurrency), num(run.load.reqPerSec), num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2),
      String(run.load.errors), String(run.load.non2xx), num(run.batching.meanBatchRows, 2), num(run.batching.meanWorkerMsPerBatch, 2),
      num(run.cpu.gatewayPct, 0), num(run.cpu.gatewayEventLoopUtilization, 2),
      cpu.model.map((p) => num(p, 0)).join('/'), cpu.worker.length ? cpu.worker.map((p) => num(p, 0)).join('/') : '-', cpu.redis === undefined ? '-' : num(cpu.redis, 0),
      cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct), num(run.load.ok / Math.max(1e-9, modelCpuSec), 0),
      run.redisCommands === undefined ? '-' : num(run.redisCommands / Math.max(1, run.batching.batches), 0),
    ];
  };
  return [
    `== queue: POST /v2/models/${q.model}/infer (${q.describe}), in-process gateway vs Redis (${q.redisUrl}, prefix ${q.prefix})`,
    `  in-process: ${q.inProcessWorkers.workers} worker processes x ${q.inProcessWorkers.threadsPerWorker} thread(s), batches over IPC`,
    `  redis: ${q.remoteWorkers.workers} \`corral worker --concurrency ${q.remoteWorkers.concurrency}\` processes (pids ${q.remoteWorkers.pids.join(', ')}), each with one model process x ${q.remoteWorkers.threadsPerWorker} thread(s); batches as BullMQ jobs`,
    '',
    table(
      ['dispatcher', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'batch round trip ms', 'gateway cpu%', 'gateway ELU',
        'model proc cpu%', 'corral worker cpu%', 'redis cpu%', 'client cpu%', 'other cpu%', 'rows/model-cpu-s', 'redis cmds/batch'],
      [...q.inProcess.map((run) => row('in-process', run)), ...q.redis.map((run) => row('redis', run))],
    ),
    'batch round trip: corral_inference_duration_seconds at the gateway (IPC; or enqueue → worker → result read back from Redis).',
    'model proc: the processes running onnxruntime; corral worker: the `corral worker` processes themselves (BullMQ, job (de)serialisation).',
    ...q.ratios.map((x) => `  c=${x.concurrency}: Redis/in-process throughput x${num(x.throughputRatio, 2)}, p99 x${num(x.p99Ratio, 2)}`),
    `  ${q.redisKeysDeleted} Redis keys under ${q.prefix}: deleted`,
  ];
}

function authBlock(a: AuthSection): string[] {
  const pct = (x: number) => `${num(x * 100, 1)}%`;
  const out = [
    `== auth: ${a.route} on ${a.model} (${a.describe}) at c=${a.concurrency}, a gateway with auth on vs one with CORRAL_AUTH=off`,
    `  both: workers=${a.gateways.workers} threadsPerWorker=${a.gateways.threadsPerWorker} maxBatchSize=${a.gateways.maxBatchSize}; ${a.rounds} rounds, each one run per gateway (order alternating), ${a.requestsPerRun} requests per run after ${a.warmupRequestsPerRun} unmeasured, capped at ${a.maxSecPerRun} s`,
    `  auth on: key '${a.key.name}' scopes ${a.key.scopes.join(',')}, models ${a.key.models.join(',')}, rate_limit ${a.key.rateLimit.requests_per_minute}/min burst ${a.key.rateLimit.burst} concurrency ${a.key.rateLimit.concurrency}`,
    `  checked first: ${a.checks.map((c) => `${c.what} → ${c.got}`).join('; ')}`,
    '',
    table(
      ['round', 'auth', 'requests', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'mean batch', 'gateway cpu%', 'gateway ELU', 'workers cpu%', 'client cpu%', 'other cpu%', 'gateway µs/req', 'server µs/req', 'key requests'],
      a.runs.map((run) => [
        String(run.round), run.auth, String(run.load.ok), num(run.load.durationSec, 2), num(run.load.reqPerSec), num(run.load.latencyMs.p50, 2), num(run.load.latencyMs.p99, 2),
        String(run.load.errors), String(run.load.non2xx), num(run.batching.meanBatchRows, 2),
        num(run.cpu.gatewayPct, 0), num(run.cpu.gatewayEventLoopUtilization, 2), workersCell(run), cpuCell(run.cpu.clientPct), cpuCell(run.cpu.otherPct),
        num(run.gatewayCpuUsPerRequest, 0), num(run.serverCpuUsPerRequest, 0),
        run.keyRequests ? Object.entries(run.keyRequests).map(([status, n]) => `${status}:${n}`).join(' ') || '0' : '-',
      ]),
    ),
    'gateway µs/req: CPU of the gateway process per answered request (the auth hook runs there); key requests: corral_key_requests_total of the key by status over the run (warm-up included).',
    '',
    table(
      ['auth', 'runs', 'median req/s', 'median p50 ms', 'median p99 ms', 'median gateway µs/req', 'median server µs/req'],
      ([['on', a.on], ['off', a.off]] as const).map(([mode, s]) => [
        mode, String(s.runs), num(s.reqPerSec), num(s.p50Ms, 2), num(s.p99Ms, 2), num(s.gatewayCpuUsPerRequest, 0), num(s.serverCpuUsPerRequest, 0),
      ]),
    ),
    `target: auth on costs <= ${pct(a.maxCost)} of throughput at c=${a.concurrency}`,
    `  median on ${num(a.on.reqPerSec)} req/s / median off ${num(a.off.reqPerSec)} req/s = ${num(a.ratio, 3)}: auth costs ${pct(a.cost)}  ${a.meetsTarget ? 'MEETS target' : 'BELOW target'}`,
    `  per-round on/off ratios: median ${num(a.pairedRatio, 3)} (cost ${pct(1 - a.pairedRatio)})`,
    `  gateway CPU per request: ${num(a.on.gatewayCpuUsPerRequest, 0)} µs on vs ${num(a.off.gatewayCpuUsPerRequest, 0)} µs off (+${num(a.on.gatewayCpuUsPerRequest - a.off.gatewayCpuUsPerRequest, 0)} µs); `
      + `while the gateway's event loop is the bottleneck that is a ratio of ${num(a.gatewayCpuRatio, 3)} (cost ${pct(1 - a.gatewayCpuRatio)}), a cross-check that a busy neighbour moves less than req/s`,
  ];
  for (const run of a.runs.filter((x) => x.profile)) {
    const { file, hot, authCode } = run.profile!;
    out.push('', `gateway profile auth ${run.auth} round ${run.round} (${file}), self time of busy samples:`);
    for (const h of hot) out.push(`  ${num(h.selfPct).padStart(5)}%  ${h.name}  ${h.where}`);
    out.push(`  under the auth code (the hook, src/auth): ${num(authCode.matchedPct)}% of ${num(authCode.busyMs, 0)} ms busy = ${num(authCode.usPerRequest.matched, 2)} of ${num(authCode.usPerRequest.busy, 1)} µs per request; GC ${num(authCode.gcPct)}% (not attributed)`);
    for (const f of authCode.functions.slice(0, run.auth === 'on' ? 16 : 4)) out.push(`    ${num(f.inclusivePct).padStart(5)}%  ${num(f.usPerRequest, 2).padStart(6)} µs/req  ${f.name}  ${f.where}`);
  }
  return out;
}

export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
