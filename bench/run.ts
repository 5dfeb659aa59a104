/**
 * `npm run bench`: loads a real Corral with autocannon over loopback, section
 * by section (BENCH_SECTIONS, default all):
 *
 *   kserve      raw ONNX via KServe v2 infer at c=1/16/64 vs onnxruntime-node in-process (the ceiling)
 *   embeddings  POST /v1/embeddings: a transformers encoder service and the built-in `embed`, c=1/16/64
 *   batching    the transformers service at c=64, default batching vs max_batch_size 1
 *   ocr         images/s through POST /ocr (multipart), c=1 and 4, a fixed number of images
 *   generation  tokens/s of a tiny GPT-2 service through POST /v1/completions, c=1 vs c=8 (batched generation)
 *   queue       the encoder via the in-process gateway vs Redis + two `corral worker` processes, c=16/64
 *   auth        iris via KServe v2 at c=64: a gateway with auth on (scoped, rate-limited key) vs CORRAL_AUTH=off, interleaved runs
 *   binary      a 64x64 cnn via KServe v2 at c=16, 8 rows a request: binary tensors in and out vs JSON in and out
 *   varlen      the masked encoder via KServe v2 at c=64: mixed lengths 8..128 (padded batches) vs every request at the mean length
 *   footprint   `corral start` as a user runs it: time to /v2/health/ready, idle gateway and worker resident memory
 *
 * The report ends with one summary table of the judged ratios and their targets (`summaryTable` in latest.json).
 *
 * Every gateway runs with CORRAL_AUTH=off (loopback) except the auth section's auth-on one.
 * Prints a table per section and writes bench/results/latest.json. Exits 0 when
 * every section ran (missing a target is a report, not a failure), 1 when the
 * server failed requests, 2 when a section (or the bench) could not run.
 *
 *   BENCH_QUICK=1 npm run bench                 2 s runs, 12 OCR images: a smoke test
 *   BENCH_DURATION=15 npm run bench             seconds per timed run (default 8)
 *   BENCH_SECTIONS=embeddings,batching npm run bench
 *   BENCH_EMBED_SENTENCES=4 BENCH_OCR_IMAGES=40 BENCH_QUEUE_CONCURRENCY=16,64
 *   BENCH_MODELS=encoder BENCH_CONCURRENCY=16,64 CORRAL_MAX_QUEUE_DELAY_US=2000 npm run bench
 *   BENCH_SECTIONS=auth npm run bench           only the auth cost (BENCH_AUTH_ROUNDS=7 BENCH_AUTH_REQUESTS=20000
 *                                               BENCH_AUTH_WARMUP_REQUESTS=2000 BENCH_AUTH_CONCURRENCY=64 BENCH_AUTH_MAX_SECONDS=60)
 *   CORRAL_WORKERS / CORRAL_THREADS_PER_WORKER / CORRAL_MAX_BATCH_SIZE are passed to the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup } from './cleanup.js';
import { createContext } from './context.js';
import { batchingSection, embeddingsSection, TextServices } from './embeddings-bench.js';
import { authSection } from './auth-bench.js';
import { generationSection } from './generation-bench.js';
import { kserveSection, type KserveSection } from './kserve-bench.js';
import { binarySection } from './kserve-binary-bench.js';
import { varlenSection } from './varlen-bench.js';
import { footprintSection } from './footprint-bench.js';
import { keytermsQualitySection } from './keyterms-quality-bench.js';
import { ocrAccuracySection } from './ocr-accuracy-bench.js';
import { summaryRows } from './summary.js';
import { runProblems } from './measure.js';
import { writeBenchModels } from './models.js';
import { ocrSection } from './ocr-bench.js';
import { parseOptions, type Section } from './options.js';
import { queueSection } from './queue-bench.js';
import { formatReport, writeResults } from './report.js';
import { serverErrorsOf, TARGET_CONCURRENCY, TARGET_RATIO, type BenchResults } from './results.js';

const log = (line: string) => console.log(`[bench] ${line}`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg()[0]!;
  const cleanup = new Cleanup(log);
  let interrupted = false;
  let interrupts = 0;
  // Kept installed while cleaning up: a Ctrl-C reaches this process twice (from the terminal and
  // relayed by tsx), and without a listener the second one would exit before the clean-up ends.
  process.on('SIGINT', () => {
    if (++interrupts === 1) {
      interrupted = true;
      log('interrupted: stopping servers and workers (press Ctrl-C repeatedly to quit at once)');
      void cleanup.run().finally(() => process.exit(130));
    } else if (interrupts > 3) process.exit(130);
  });

  try {
    const home = mkdtempSync(join(tmpdir(), 'corral-bench-'));
    cleanup.add('remove the scratch directory', () => rmSync(home, { recursive: true, force: true }));
    const ctx = createContext(options, home, writeBenchModels(join(home, 'fixtures')), cleanup, log);
    log(`sections: ${options.sections.join(', ')}; load average at start: ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores`);
    const { server, config } = await ctx.shared();
    log(`in-process gateway ${server.url}: workers=${config.workers} threadsPerWorker=${config.threadsPerWorker} maxBatchSize=${config.batching.maxBatchSize} maxQueueDelayMicroseconds=${config.batching.maxQueueDelayMicroseconds} capacity=${server.corral.dispatcher.capacity()}`);

    const failedSections: BenchResults['failedSections'] = [];
    const textServices = new TextServices(ctx);
    let kserve: KserveSection | undefined;
    const extra: Pick<BenchResults, 'embeddings' | 'batching' | 'ocr' | 'generation' | 'queue' | 'auth' | 'binary' | 'varlen' | 'footprint' | 'ocrAccuracy' | 'keytermsQuality'> = {};
    const runners: Record<Section, () => Promise<void>> = {
      kserve: async () => void (kserve = await kserveSection(ctx)),
      embeddings: async () => void (extra.embeddings = await embeddingsSection(ctx, textServices)),
      batching: async () => void (extra.batching = await batchingSection(ctx, textServices)),
      ocr: async () => void (extra.ocr = await ocrSection(ctx)),
      generation: async () => void (extra.generation = await generationSection(ctx)),
      queue: async () => void (extra.queue = await queueSection(ctx)),
      auth: async () => void (extra.auth = await authSection(ctx)),
      binary: async () => void (extra.binary = await binarySection(ctx)),
      varlen: async () => void (extra.varlen = await varlenSection(ctx)),
      footprint: async () => void (extra.footprint = await footprintSection(ctx)),
      'ocr-accuracy': async () => void (extra.ocrAccuracy = await ocrAccuracySection(ctx)),
      'keyterms-quality': async () => void (extra.keytermsQuality = await keytermsQualitySection(ctx)),
    };
    for (const section of options.sections) {
      if (interrupted) break;
      log(`== section ${section}`);
      try {
        await runners[section]();
      } catch (err) {
        if (interrupted) break;
        // The other sections still run; this one is reported as failed (exit code 2).
        log(`section ${section} failed: ${(err as Error).stack ?? String(err)}`);
        failedSections.push({ section, error: (err as Error).message });
      }
    }
    if (interrupted) return 130;
    const shared = ctx.sharedConfig()!;
    await cleanup.run();

    const runs = kserve?.runs ?? [];
    const serverErrors = [
      ...serverErrorsOf(runs),
      ...(extra.embeddings?.runs ?? []).flatMap((r) => runProblems(`embeddings ${r.target} c=${r.concurrency}`, r)),
      ...(extra.batching ? [extra.batching.on, extra.batching.off].flatMap(({ run }) => runProblems(`batching ${run.target} c=${run.concurrency}`, run)) : []),
      ...(extra.ocr?.runs ?? []).flatMap((r) => runProblems(`ocr c=${r.concurrency}`, r)),
      ...(extra.generation?.runs ?? []).filter((r) => r.failed > 0).map((r) => `generation c=${r.concurrency}: ${r.failed} requests failed`),
      ...(extra.queue?.inProcess ?? []).flatMap((r) => runProblems(`queue in-process c=${r.concurrency}`, r)),
      ...(extra.queue?.redis ?? []).flatMap((r) => runProblems(`queue redis c=${r.concurrency}`, r)),
      ...(extra.auth?.runs ?? []).flatMap((r) => runProblems(`auth ${r.auth} round ${r.round} c=${r.concurrency}`, r)),
      ...(extra.binary ? [extra.binary.json, extra.binary.binary] : []).flatMap((r) => runProblems(`binary c=${r.concurrency}`, r)),
      ...(extra.varlen ? [extra.varlen.mixed, extra.varlen.uniform, extra.varlen.unpadded] : []).flatMap((r) => runProblems(`varlen c=${r.concurrency}`, r)),
    ];
    const measured: Omit<BenchResults, 'summaryTable'> = {
      startedAt,
      finishedAt: new Date().toISOString(),
      sections: options.sections,
      failedSections,
      machine: {
        cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version,
        platform: `${process.platform}-${process.arch}`, loadAverageAtStart,
      },
      settings: {
        durationSec: options.durationSec, warmupSec: options.warmupSec, rawSecPerBatch: options.rawSecPerBatch,
        rawThreads: options.rawThreads, quick: options.quick, concurrencies: options.concurrencies,
      },
      server: {
        workers: shared.config.workers, threadsPerWorker: shared.config.threadsPerWorker, capacity: shared.capacity,
        capacityOverridden: options.capacity !== undefined,
        maxBatchSize: shared.config.batching.maxBatchSize, maxQueueDelayMicroseconds: shared.config.batching.maxQueueDelayMicroseconds,
      },
      models: Object.fromEntries((kserve?.models ?? []).map((m) => [m.name, m.describe])),
      raw: kserve?.raw ?? [],
      runs,
      summary: kserve?.summary ?? [],
      target: { ratio: TARGET_RATIO, concurrency: TARGET_CONCURRENCY, text: 'served at c=64 >= 85% of raw best-batch' },
      ...extra,
      serverErrors,
    };
    const results: BenchResults = { ...measured, summaryTable: summaryRows(measured) };
    console.log(`\n${formatReport(results)}\n`);
    writeResults(options.resultsPath, results);
    log(`results written to ${options.resultsPath}`);
    if (failedSections.length > 0) return 2;
    return serverErrors.length > 0 ? 1 : 0;
  } finally {
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('[bench] failed:', err);
    process.exit(2);
  },
);
