/**
 * Section `generation`: generated tokens per second through POST /v1/completions
 * on a tiny GPT-2 text-generation service (one replica), at concurrency 1 and 8.
 * Greedy, a fixed max_tokens, and distinct prompts (of different lengths, so
 * batches are left-padded) that all end in the fixture's endless " tick tock"
 * cycle, so every request generates exactly max_tokens tokens. At c=8 concurrent
 * requests share one generate() call; the target is c=8 ≥ 3× c=1 tokens/s.
 *
 * transformers.js cannot add a request to a generate() already running, so in a
 * closed loop (every client comes back when the batch ends) the first returning
 * request would start a generation alone and hold the other seven back for all of
 * it: batches of 1 and 7 in turn. The service therefore waits up to GATHER_US for
 * company (dispatching at once when max_batch_size = 8 is reached); c=1 pays that
 * wait too.
 *
 * Each request reads its completion_tokens, which autocannon cannot, and the
 * prompts differ per request, so the load is a small closed loop of fetch()
 * clients here rather than the shared autocannon client.
 */
import { join } from 'node:path';
import { writeTinyGpt2 } from '../test/fixtures/transformers/index.js';
import { drainKeys } from './bench-server.js';
import type { BenchContext } from './context.js';
import { batchStatsBetween, scrapeMetrics } from './corral-metrics.js';
import type { GenerationRun, GenerationSection } from './results.js';
import { createService, serviceInfo, serviceKey, warmService } from './services.js';

const SERVICE = 'bench-gpt2';
const MAX_TOKENS = 32;
/** The service's max_queue_delay_microseconds. */
const GATHER_US = 2000;
export const GENERATION_CONCURRENCIES = [1, 8];
/** c=8 tokens/s over c=1 tokens/s. */
export const GENERATION_TARGET_RATIO = 3;

/** Distinct prompts of 1 to 5 words, each ending in " tick" (the fixture then says " tock tick …" without end). */
const PROMPTS = ['the', 'a cat', 'once upon', 'hello world on', 'the mat sat on a', 'cat', 'a', 'upon a mat', 'on the', 'world'].map((p) => `${p} tick`);

interface Completion { usage: { completion_tokens: number } }

/** `concurrency` clients each send completions back to back until `until` (performance.now()); what finished in the window counts. */
async function closedLoop(url: string, concurrency: number, from: number, until: number, next: () => string): Promise<{ ok: number; failed: number; tokens: number; latenciesMs: number[] }> {
  const totals = { ok: 0, failed: 0, tokens: 0, latenciesMs: [] as number[] };
  const client = async () => {
    while (performance.now() < until) {
      const sent = performance.now();
      const res = await fetch(`${url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: SERVICE, prompt: next(), max_tokens: MAX_TOKENS, temperature: 0 }),
      });
      const text = await res.text();
      const done = performance.now();
      if (sent < from || done > until) continue; // warm-up, or past the window
      if (res.status !== 200) {
        totals.failed++;
        continue;
      }
      totals.ok++;
      totals.tokens += (JSON.parse(text) as Completion).usage.completion_tokens;
      totals.latenciesMs.push(done - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return totals;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function generationRun(ctx: BenchContext, concurrency: number): Promise<GenerationRun> {
  const { server } = await ctx.shared();
  const { durationSec, warmupSec } = ctx.options;
  let k = 0;
  const next = () => PROMPTS[k++ % PROMPTS.length]!;
  const start = performance.now();
  await closedLoop(server.url, concurrency, Infinity, start + warmupSec * 1000, next);
  await drainKeys(server, [serviceKey(server, SERVICE)]);
  const before = await scrapeMetrics(server.url);
  const from = performance.now();
  const totals = await closedLoop(server.url, concurrency, from, from + durationSec * 1000, next);
  const elapsedSec = (performance.now() - from) / 1000;
  const batching = batchStatsBetween(before, await scrapeMetrics(server.url), SERVICE);
  const sorted = [...totals.latenciesMs].sort((a, b) => a - b);
  const run: GenerationRun = {
    concurrency, durationSec: elapsedSec, requests: totals.ok, failed: totals.failed, tokens: totals.tokens,
    tokensPerSec: totals.tokens / elapsedSec,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
    meanBatchRows: batching.meanBatchRows,
    meanBatchMs: batching.meanWorkerMsPerBatch,
  };
  ctx.log(`generation c=${concurrency}: ${run.tokensPerSec.toFixed(0)} tokens/s, ${run.requests} requests (${run.failed} failed), mean batch ${run.meanBatchRows.toFixed(2)} rows in ${run.meanBatchMs.toFixed(1)} ms, p50 ${run.latencyMs.p50.toFixed(0)} ms`);
  return run;
}

export async function generationSection(ctx: BenchContext): Promise<GenerationSection> {
  const { server } = await ctx.shared();
  const dir = writeTinyGpt2(join(ctx.home, 'fixtures', 'tiny-gpt2'));
  await createService(server, {
    name: SERVICE, task: 'text-generation', runtime: 'transformers', model: dir,
    max_batch_size: Math.max(...GENERATION_CONCURRENCIES), max_queue_delay_microseconds: GATHER_US,
  });
  const warm = async () => {
    const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: SERVICE, prompt: PROMPTS[0], max_tokens: MAX_TOKENS }) });
    const body = await res.text();
    if (res.status !== 200 || (JSON.parse(body) as Completion).usage.completion_tokens !== MAX_TOKENS) throw new Error(`POST /v1/completions (${SERVICE}) answered ${res.status}: ${body}`);
  };
  await warmService(server, SERVICE, warm, 1);
  const info = serviceInfo(server, SERVICE);
  const runs: GenerationRun[] = [];
  for (const concurrency of GENERATION_CONCURRENCIES) runs.push(await generationRun(ctx, concurrency));
  return {
    route: 'POST /v1/completions (greedy, not streamed)',
    service: { ...info, describe: `tiny random GPT-2 test fixture (1 layer, hidden 16, KV cache), transformers.js; max_queue_delay ${GATHER_US} µs` },
    maxTokens: MAX_TOKENS,
    prompts: PROMPTS,
    runs,
    tokensPerSecRatio: runs.at(-1)!.tokensPerSec / runs[0]!.tokensPerSec,
    targetRatio: GENERATION_TARGET_RATIO,
  };
}
