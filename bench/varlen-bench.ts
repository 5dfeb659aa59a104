/**
 * Section `varlen`: padded batching of token requests (TEI-style). The masked
 * encoder fixture through POST /v2/models/<name>/infer at c=64: every request a
 * random length from 8 to 128 tokens (the load client takes prepared bodies in
 * turn), against the same load with every request at the mean length, where
 * exact-shape batching already stacks everything. Tokens/s of the mixed load
 * over the uniform one is the ratio (target ≥ 0.8); the mixed load with padding
 * off (`"padding": false`, one batch per distinct length) shows what padding buys.
 * Two interleaved rounds; each load keeps its better run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMaskedEncoderModel, mulberry32 } from '../test/fixtures/index.js';
import type { RunningServer } from '../src/gateway/index.js';
import { drain, inferUrl, uploadModel } from './bench-server.js';
import type { BenchContext } from './context.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure, type HttpRun } from './measure.js';
import type { BenchModel } from './models.js';

export const VARLEN_CONCURRENCY = 64;
export const VARLEN_TARGET_RATIO = 0.8;
const SHAPE = { hidden: 256, layers: 2, maxSeq: 128, vocab: 1000 } as const;
const MIN_LEN = 8;
/** Distinct prepared bodies of the mixed load. */
const BODIES = 256;
const ROUNDS = 2;

export interface VarlenSection {
  model: string;
  describe: string;
  concurrency: number;
  /** Mean tokens per request of the mixed load (the uniform load's length). */
  meanTokens: number;
  mixed: HttpRun;
  uniform: HttpRun;
  /** The mixed load with padding off. */
  unpadded: HttpRun;
  tokensPerSec: { mixed: number; uniform: number; unpadded: number };
  /** mixed tokens/s ÷ uniform tokens/s. */
  ratio: number;
  targetRatio: number;
  meetsTarget: boolean;
}

/** A KServe v2 body of `length` tokens (pooled output only: the bench measures compute, not JSON). */
function body(length: number, rng: () => number): string {
  const ids = Array.from({ length }, () => Math.floor(rng() * SHAPE.vocab));
  return JSON.stringify({
    inputs: [
      { name: 'input_ids', shape: [1, length], datatype: 'INT64', data: ids },
      { name: 'attention_mask', shape: [1, length], datatype: 'INT64', data: ids.map(() => 1) },
    ],
    outputs: [{ name: 'pooled' }],
  });
}

function maskedEncoder(dir: string): BenchModel {
  const path = join(dir, 'bench-masked-encoder.onnx');
  writeFileSync(path, buildMaskedEncoderModel(SHAPE));
  return {
    // `input` is unused: its requests have two inputs, so the section builds its own bodies and warm-up.
    name: 'masked-encoder', path, outputs: ['pooled'],
    input: { name: 'input_ids', datatype: 'INT64', rowShape: [], row: [] },
    describe: `masked encoder hidden=${SHAPE.hidden} layers=${SHAPE.layers}, int64[1,8..128] ids + mask → pooled`,
  };
}

export async function varlenSection(ctx: BenchContext): Promise<VarlenSection> {
  const { options, log } = ctx;
  const { server } = await ctx.shared();
  const model = maskedEncoder(ctx.home);
  await uploadModel(server.url, model);
  const url = inferUrl(server.url, model);
  const rng = mulberry32(2024);
  const lengths = Array.from({ length: BODIES }, () => MIN_LEN + Math.floor(rng() * (SHAPE.maxSeq - MIN_LEN + 1)));
  const meanTokens = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const mean = Math.round(meanTokens);
  const write = (name: string, bodies: string[]) => {
    const file = join(ctx.home, `varlen-${name}.json`);
    writeFileSync(file, JSON.stringify(bodies));
    return file;
  };
  const mixedFile = write('mixed', lengths.map((n) => body(n, rng)));
  const uniformFile = write('uniform', lengths.map(() => body(mean, rng)));
  await warmUpWith(server, model.name, url, lengths.slice(0, 32).map((n) => body(n, rng)));
  await drain(server, [model]);
  log(`varlen: ${model.describe}; ${BODIES} bodies, lengths ${MIN_LEN}..${SHAPE.maxSeq}, mean ${meanTokens.toFixed(1)} tokens`);

  const run = (what: string, bodiesFile: string) => measure({
    gatewayUrl: server.url, target: model.name,
    spec: { url, body: '', bodiesFile, connections: VARLEN_CONCURRENCY, durationSec: options.durationSec, warmupSec: options.warmupSec },
    pids: () => workerPids(server),
    drain: () => drain(server, [model]),
  }).then((r) => (log(`varlen ${what} c=${VARLEN_CONCURRENCY}: ${describeRun(r)}`), r));
  // Interleaved rounds, each load keeping its better run, so a neighbour's burst during one run does not decide the ratio.
  const best = (a: HttpRun | undefined, b: HttpRun) => (a && a.load.reqPerSec >= b.load.reqPerSec ? a : b);
  let mixed: HttpRun | undefined;
  let uniform: HttpRun | undefined;
  let unpadded: HttpRun | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    mixed = best(mixed, await run(`round ${round} mixed 8..128`, mixedFile));
    uniform = best(uniform, await run(`round ${round} uniform ${mean}`, uniformFile));
    await patchPadding(server.url, model.name, false);
    unpadded = best(unpadded, await run(`round ${round} mixed, padding off`, mixedFile));
    await patchPadding(server.url, model.name, null);
  }
  if (!mixed || !uniform || !unpadded) throw new Error('varlen ran no round');
  const tokensPerSec = { mixed: mixed.load.reqPerSec * meanTokens, uniform: uniform.load.reqPerSec * mean, unpadded: unpadded.load.reqPerSec * meanTokens };
  const ratio = tokensPerSec.mixed / tokensPerSec.uniform;
  return {
    model: model.name, describe: model.describe, concurrency: VARLEN_CONCURRENCY, meanTokens, mixed, uniform, unpadded,
    tokensPerSec, ratio, targetRatio: VARLEN_TARGET_RATIO, meetsTarget: ratio >= VARLEN_TARGET_RATIO,
  };
}

/** As bench-server's warmUp, with these bodies: concurrent requests until every worker reports the model loaded. */
async function warmUpWith(server: RunningServer, name: string, url: string, bodies: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const workers = server.corral.dispatcher.workers();
  for (;;) {
    await Promise.all(bodies.map(async (b) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
      if (res.status !== 200) throw new Error(`varlen warm-up answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }));
    const loaded = server.corral.dispatcher.workers().filter((w) => w.loadedModels.some((k) => k.startsWith(`${name}@`)));
    if (loaded.length === workers.length) return;
    if (Date.now() > deadline) throw new Error(`${name} loaded in ${loaded.length} of ${workers.length} workers after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function patchPadding(gateway: string, name: string, padding: false | null): Promise<void> {
  const res = await fetch(`${gateway}/api/v1/models/${name}/config`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding }) });
  if (res.status !== 200) throw new Error(`PATCH padding ${padding} answered ${res.status}: ${await res.text()}`);
}

/** The section's lines in the printed report. */
export function varlenBlock(v: VarlenSection): string[] {
  const row = (what: string, r: HttpRun, tokens: number) =>
    `  ${what.padEnd(20)} ${r.load.reqPerSec.toFixed(1).padStart(8)} req/s  ${tokens.toFixed(0).padStart(8)} tokens/s  mean batch ${r.batching.meanBatchRows.toFixed(2).padStart(6)}  p50 ${r.load.latencyMs.p50.toFixed(1)} ms  p99 ${r.load.latencyMs.p99.toFixed(1)} ms  errors ${r.load.errors}  non-2xx ${r.load.non2xx}`;
  return [
    `== varlen: POST /v2/models/<name>/infer on ${v.model} (${v.describe}) at c=${v.concurrency}: mixed lengths (padded batches) vs every request at the mean length`,
    row('mixed 8..128', v.mixed, v.tokensPerSec.mixed),
    row(`uniform ${Math.round(v.meanTokens)}`, v.uniform, v.tokensPerSec.uniform),
    row('mixed, padding off', v.unpadded, v.tokensPerSec.unpadded),
    `target: mixed >= x${v.targetRatio} uniform tokens/s: x${v.ratio.toFixed(2)}  ${v.meetsTarget ? 'MEETS target' : 'BELOW target'}  (padding off: x${(v.tokensPerSec.unpadded / v.tokensPerSec.uniform).toFixed(2)})`,
  ];
}
