/**
 * Section `keyterms-quality`: how good the built-in keyterms runtime's terms
 * are, on the labelled set in test/fixtures/keyterms-eval (53 short
 * paragraphs from varied fields, 3-6 gold key phrases each): F1@5, P@5 and
 * R@5 with lenient lemmatised matching (see score.ts), macro-averaged, plus
 * the five worst paragraphs with what was predicted. The runtime is loaded
 * in-process (no gateway); its word vectors are cached under ctx.home.
 */
import { join } from 'node:path';
import { keytermsRuntime } from '../src/runtimes/keyterms/keyterms-runtime.js';
import type { Keyterm, TextListOutput } from '../src/runtimes/task-io.js';
import { KEYTERMS_EVAL_SET } from '../test/fixtures/keyterms-eval/eval-set.js';
import { EVAL_K, evaluateKeyterms } from '../test/fixtures/keyterms-eval/score.js';
import type { BenchContext } from './context.js';

export interface KeytermsQualityParagraph {
  id: string;
  f1: number;
  predicted: string[];
  gold: string[];
  /** For each predicted term, the gold phrase it matched (null: none). */
  matches: (string | null)[];
}

export interface KeytermsQualitySection {
  describe: string;
  k: number;
  paragraphs: number;
  f1: number;
  precision: number;
  recall: number;
  /** Median wall time of one single-paragraph request, in-process. */
  medianMsPerParagraph: number;
  worst: KeytermsQualityParagraph[];
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

export async function keytermsQualitySection(ctx: BenchContext): Promise<KeytermsQualitySection> {
  const env = { threads: 1, allowRemoteModels: false, modelCacheDir: join(ctx.home, 'keyterms-quality-cache') };
  const model = await keytermsRuntime.load({ key: 'builtin-keyterms@bench', runtime: 'keyterms', path: '' }, env);
  try {
    const run = async (texts: string[]) => ((await model.run({ texts })) as TextListOutput<Keyterm[]>).results.map((ks) => ks.map((k) => k.term));
    const { total, perParagraph } = await evaluateKeyterms(KEYTERMS_EVAL_SET, run);

    // One paragraph per request, as a client would send them; 3 rounds (well under a second in all).
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const p of KEYTERMS_EVAL_SET) {
        const started = performance.now();
        await run([p.text]);
        times.push(performance.now() - started);
      }
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)]!;

    const worst = perParagraph
      .slice()
      .sort((a, b) => a.score.f1 - b.score.f1 || a.id.localeCompare(b.id))
      .slice(0, 5)
      .map((r) => ({ id: r.id, f1: round4(r.score.f1), predicted: r.predicted, gold: [...r.gold], matches: r.score.matches }));

    ctx.log(`keyterms quality: F1@${EVAL_K} ${total.f1.toFixed(4)}, P@${EVAL_K} ${total.precision.toFixed(4)}, R@${EVAL_K} ${total.recall.toFixed(4)} over ${total.paragraphs} paragraphs; median ${medianMs.toFixed(2)} ms/paragraph`);
    for (const w of worst) ctx.log(`  worst ${w.id} (F1 ${w.f1.toFixed(2)}): predicted ${JSON.stringify(w.predicted)}, gold ${JSON.stringify(w.gold)}`);
    return {
      describe: `built-in keyterms runtime on ${total.paragraphs} labelled paragraphs (test/fixtures/keyterms-eval); lenient lemmatised matching, macro-averaged`,
      k: EVAL_K,
      paragraphs: total.paragraphs,
      f1: round4(total.f1),
      precision: round4(total.precision),
      recall: round4(total.recall),
      medianMsPerParagraph: Math.round(medianMs * 1000) / 1000,
      worst,
    };
  } finally {
    await model.dispose();
  }
}
