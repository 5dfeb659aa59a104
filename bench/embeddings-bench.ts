/**
 * Sections `embeddings` and `batching`: POST /v1/embeddings (OpenAI) against a
 * transformers encoder service and the built-in `embed` service; then the
 * transformers service at c=64 with its default batching vs max_batch_size 1.
 */
import { join } from 'node:path';
import { drainKeys } from './bench-server.js';
import type { BenchContext } from './context.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure, type HttpRun } from './measure.js';
import { TARGET_CONCURRENCY, type BatchingSection, type EmbeddingsSection, type ServiceDescription } from './results.js';
import { createService, embeddingsBody, embedOnce, sentences, serviceInfo, serviceKey, warmService, writeBertModel } from './services.js';

/** The transformers service of both sections, and its unbatched twin. */
export const BERT_SERVICE = 'bench-bert';
export const BERT_UNBATCHED_SERVICE = 'bench-bert-unbatched';
/** The built-in service (wink word vectors). */
export const EMBED_SERVICE = 'embed';

/** Creates (once per gateway) and warms up the services the two sections load. */
export class TextServices {
  private readonly ready = new Map<string, Promise<ServiceDescription>>();
  private bert: { dir: string; describe: string } | undefined;

  constructor(private readonly ctx: BenchContext) {}

  get(name: string): Promise<ServiceDescription> {
    let p = this.ready.get(name);
    if (!p) {
      p = this.prepare(name);
      this.ready.set(name, p);
      p.catch(() => this.ready.delete(name));
    }
    return p;
  }

  private async prepare(name: string): Promise<ServiceDescription> {
    const { server, config } = await this.ctx.shared();
    const n = this.ctx.options.embedSentences;
    let describe: string;
    if (name === EMBED_SERVICE) {
      describe = 'built-in: average of wink-nlp 100-d word vectors, L2-normalised';
    } else {
      this.bert ??= writeBertModel(join(this.ctx.home, 'fixtures', 'tiny-bert'));
      // One replica per worker process, as raw ONNX models get (a service defaults to 1).
      await createService(server, {
        name, task: 'feature-extraction', runtime: 'transformers', model: this.bert.dir, replicas: config.workers,
        ...(name === BERT_UNBATCHED_SERVICE ? { max_batch_size: 1 } : {}),
      });
      describe = this.bert.describe;
    }
    const info = serviceInfo(server, name);
    const loaded = await warmService(server, name, () => embedOnce(server, name, n), Math.min(info.replicas, config.workers));
    await drainKeys(server, [serviceKey(server, name)]);
    this.ctx.log(`service ${name} (${info.runtime}, replicas ${info.replicas}, max_batch_size ${info.maxBatchSize}) loaded in ${loaded} worker(s)`);
    return { name, runtime: info.runtime, model: info.model, replicas: info.replicas, maxBatchSize: info.maxBatchSize, describe };
  }
}

async function embeddingsRun(ctx: BenchContext, service: string, concurrency: number): Promise<HttpRun> {
  const { server } = await ctx.shared();
  const { options } = ctx;
  const run = await measure({
    gatewayUrl: server.url, target: service,
    spec: {
      url: `${server.url}/v1/embeddings`, body: embeddingsBody(service, options.embedSentences),
      connections: concurrency, durationSec: options.durationSec, warmupSec: options.warmupSec,
    },
    pids: () => workerPids(server),
    drain: () => drainKeys(server, [serviceKey(server, service)]),
  });
  ctx.log(`embeddings ${service} c=${concurrency}: ${describeRun(run)}`);
  return run;
}

export async function embeddingsSection(ctx: BenchContext, services: TextServices): Promise<EmbeddingsSection> {
  const described = [await services.get(BERT_SERVICE), await services.get(EMBED_SERVICE)];
  const runs: HttpRun[] = [];
  for (const service of described) {
    for (const concurrency of ctx.options.concurrencies) runs.push(await embeddingsRun(ctx, service.name, concurrency));
  }
  return {
    route: 'POST /v1/embeddings',
    sentencesPerRequest: ctx.options.embedSentences,
    sentences: sentences(ctx.options.embedSentences),
    services: described,
    runs,
  };
}

export async function batchingSection(ctx: BenchContext, services: TextServices): Promise<BatchingSection> {
  const on = await services.get(BERT_SERVICE);
  const off = await services.get(BERT_UNBATCHED_SERVICE);
  const onRun = await embeddingsRun(ctx, on.name, TARGET_CONCURRENCY);
  const offRun = await embeddingsRun(ctx, off.name, TARGET_CONCURRENCY);
  return {
    concurrency: TARGET_CONCURRENCY,
    on: { service: on, run: onRun },
    off: { service: off, run: offRun },
    throughputRatio: onRun.load.reqPerSec / offRun.load.reqPerSec,
    p99Ratio: onRun.load.latencyMs.p99 / offRun.load.latencyMs.p99,
  };
}
