/**
 * The 'keyterms' runtime (noun-phrase candidates + statistics + embedding
 * similarity, fused by RRF) with the real wink-nlp and word-vector packages.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireBuiltinEmbedder, releaseBuiltinEmbedder } from '../../src/runtimes/embed/embed-runtime.js';
import { extractCandidates } from '../../src/runtimes/keyterms/candidates.js';
import { containsTerm, createKeytermsRuntime, keytermsRuntime } from '../../src/runtimes/keyterms/keyterms-runtime.js';
import { ranksOf, reciprocalRankFusion } from '../../src/runtimes/keyterms/rank-fusion.js';
import type { LoadedModel, RuntimeEnv } from '../../src/runtimes/runtime.js';
import type { Keyterm, TextListOutput } from '../../src/runtimes/task-io.js';

const LAMINOID = ['The sun rises in the east.', 'Cats are curious animals.', 'Rainbows appear after the rain.'];
const PARAGRAPH =
  'Machine learning models are increasingly deployed on edge devices. Recent advances in model compression, ' +
  'such as quantization and knowledge distillation, allow large neural networks to run on mobile phones with ' +
  'limited memory. Apple and Google have released new frameworks for on-device inference, and researchers at ' +
  'Stanford University proposed a novel pruning method that reduces model size by 90 percent.';
const STOP_WORDS = new Set(['the', 'a', 'an', 'in', 'on', 'of', 'after', 'are', 'is', 'and', 'such', 'as', 'to', 'with', 'for', 'at', 'by', 'that', 'have']);

let dir: string;
let env: RuntimeEnv;
let model: LoadedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-keyterms-'));
  env = { threads: 1, allowRemoteModels: false, modelCacheDir: dir };
  model = await keytermsRuntime.load({ key: 'builtin-keyterms@1', runtime: 'keyterms', path: '' }, env);
});
after(async () => {
  await model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function keyterms(texts: string[], options?: Record<string, unknown>): Promise<Keyterm[][]> {
  return ((await model.run({ texts, options })) as TextListOutput<Keyterm[]>).results;
}

const termsOf = (ks: Keyterm[]) => ks.map((k) => k.term);
const wordsOf = (ks: Keyterm[]) => ks.flatMap((k) => k.term.split(' '));

function assertWellFormed(ks: Keyterm[]): void {
  for (let i = 0; i < ks.length; i++) {
    const { term, score } = ks[i]!;
    assert.ok(score > 0 && score <= 1, `score of '${term}' is ${score}`);
    if (i > 0) assert.ok(ks[i - 1]!.score >= score, `not sorted at '${term}'`);
    assert.equal(term, term.toLowerCase());
    for (const w of term.split(' ')) assert.ok(!STOP_WORDS.has(w), `stop word '${w}' in '${term}'`);
    // Deduplicated: no term is part of a higher-ranked one.
    for (let j = 0; j < i; j++) assert.ok(!containsTerm(ks[j]!.term, term), `'${term}' is contained in '${ks[j]!.term}'`);
  }
}

describe('keyterms runtime', () => {
  test("finds the meaningful nouns of Laminoid's example sentences", async () => {
    const [sun, cats, rain] = await keyterms(LAMINOID);
    // Two candidate terms in each sentence, under the default top of 5.
    assert.deepEqual([sun!, cats!, rain!].map((ks) => ks.length), [2, 2, 2], JSON.stringify([sun, cats, rain]));
    for (const ks of [sun!, cats!, rain!]) assertWellFormed(ks);
    assert.ok(wordsOf(sun!).includes('sun'), JSON.stringify(sun));
    assert.ok(wordsOf(sun!).includes('east'), JSON.stringify(sun));
    assert.ok(termsOf(cats!).includes('cats'), JSON.stringify(cats));
    assert.ok(termsOf(cats!).includes('curious animals'), JSON.stringify(cats));
    assert.ok(termsOf(rain!).includes('rain') && termsOf(rain!).includes('rainbows'), JSON.stringify(rain));
    assert.equal(sun![0]!.score, 1, 'the term both rankings put first scores 1');
  });

  test('a longer paragraph yields multi-word phrases, sorted, deduplicated, default top 5', async () => {
    const [ks] = await keyterms([PARAGRAPH]);
    assert.equal(ks!.length, 5);
    assertWellFormed(ks!);
    // All five are phrases: specific phrases outrank single words (was 4 of 5 before issue 16).
    assert.equal(ks!.filter((k) => k.term.includes(' ')).length, 5, JSON.stringify(ks));
    assert.ok(termsOf(ks!).includes('machine learning models'), JSON.stringify(ks));
  });

  test('respects options.top', async () => {
    const [one] = await keyterms([PARAGRAPH], { top: 1 });
    assert.equal(one!.length, 1);
    const [ten] = await keyterms([PARAGRAPH], { top: 10 });
    assert.equal(ten!.length, 10);
    assertWellFormed(ten!);
    assert.deepEqual(one, ten!.slice(0, 1));
    const [few] = await keyterms(['Cats are curious animals.'], { top: 50 });
    assert.ok(few!.length < 50, 'a short text has only so many terms');
  });

  test('each text of a batch is answered as if alone', async () => {
    const batch = await keyterms([...LAMINOID, PARAGRAPH]);
    for (let i = 0; i < batch.length; i++) assert.deepEqual(batch[i], (await keyterms([[...LAMINOID, PARAGRAPH][i]!]))[0]);
  });

  test('texts without nouns give no terms', async () => {
    assert.deepEqual(await keyterms(['', 'the of and', '!!!']), [[], [], []]);
  });

  test('rejects a bad top and a bad input', async () => {
    await assert.rejects(model.run({ texts: ['x'], options: { top: 0 } }), /invalid options.top/);
    await assert.rejects(model.run({ texts: ['x'], options: { top: 2.5 } }), /invalid options.top/);
    await assert.rejects(model.run({ texts: 'x' }), /invalid input/);
  });

  test('model options set defaults that a request can override', async () => {
    const m = await keytermsRuntime.load({ key: 'k3', runtime: 'keyterms', path: '', options: { top: 3 } }, env);
    try {
      const [three] = ((await m.run({ texts: [PARAGRAPH] })) as TextListOutput<Keyterm[]>).results;
      assert.equal(three!.length, 3);
      const [two] = ((await m.run({ texts: [PARAGRAPH], options: { top: 2 } })) as TextListOutput<Keyterm[]>).results;
      assert.equal(two!.length, 2);
    } finally {
      await m.dispose();
    }
  });

  test('any SentenceEmbedder can supply the similarity scores', async () => {
    let calls = 0;
    const runtime = createKeytermsRuntime(async (_ref, e) => {
      const inner = await acquireBuiltinEmbedder(e);
      const embedder = { embed: (texts: string[]) => (calls++, inner.embed(texts)) };
      return { embedder, sizeBytes: 0, release: releaseBuiltinEmbedder };
    }, 'keyterms-custom');
    const m = await runtime.load({ key: 'kc', runtime: 'keyterms-custom', path: '' }, env);
    try {
      const out = ((await m.run({ texts: [...LAMINOID, PARAGRAPH] })) as TextListOutput<Keyterm[]>).results;
      assert.equal(calls, 1, 'one embed call for the whole batch');
      assert.deepEqual(out, await keyterms([...LAMINOID, PARAGRAPH]));
    } finally {
      await m.dispose();
    }
  });
});

describe('candidates', () => {
  test('noun phrases, their nouns, and no stop words', () => {
    const { candidates } = extractCandidates('Other researchers at Stanford University proposed a novel pruning method.');
    const terms = candidates.map((c) => c.term);
    for (const t of ['researchers', 'stanford university', 'stanford', 'university', 'novel pruning method', 'pruning method', 'method']) {
      assert.ok(terms.includes(t), `${t} in ${JSON.stringify(terms)}`);
    }
    assert.ok(!terms.some((t) => t.startsWith('other') || t.startsWith('a ')), JSON.stringify(terms));
    const stanford = candidates.find((c) => c.term === 'stanford university')!;
    assert.equal(stanford.casedCount, 1, 'capitalized mid-sentence');
  });

  test('counts repeated terms once, with their occurrences', () => {
    const { candidates } = extractCandidates('Solar panels are cheap. Solar panels last long. Batteries store the energy of solar panels.');
    const panels = candidates.find((c) => c.term === 'solar panels')!;
    assert.equal(panels.count, 3);
    assert.equal(panels.firstSentence, 0);
    assert.equal(panels.firstToken, 0);
  });
});

describe('reciprocal rank fusion', () => {
  test('ranksOf ranks by descending score, ties sharing the better rank', () => {
    const ranks = ranksOf(new Map([['a', 0.2], ['b', 0.9], ['c', 0.5], ['d', 0.5]]));
    assert.deepEqual(Object.fromEntries(ranks), { b: 1, c: 2, d: 2, a: 4 });
  });

  test('fuses rank lists into scores in (0, 1], 1 for first everywhere', () => {
    const r1 = new Map([['x', 1], ['y', 2], ['z', 3]]);
    const r2 = new Map([['x', 1], ['z', 2], ['y', 3]]);
    const fused = reciprocalRankFusion([r1, r2], 10);
    assert.equal(fused.get('x'), 1);
    // (1/12 + 1/13) / (2/11)
    assert.ok(Math.abs(fused.get('y')! - (1 / 12 + 1 / 13) / (2 / 11)) < 1e-12);
    assert.equal(fused.get('y'), fused.get('z'), 'symmetric disagreements tie');
  });

  test('an item one list does not rank gets only the other list’s share', () => {
    const fused = reciprocalRankFusion([new Map([['a', 1], ['b', 2]]), new Map([['b', 1]])], 60);
    assert.ok(Math.abs(fused.get('a')! - 1 / 61 / (2 / 61)) < 1e-12); // 0.5
    assert.ok(fused.get('b')! > fused.get('a')!, 'b is ranked by both');
    for (const s of fused.values()) assert.ok(s > 0 && s <= 1);
  });

  test('k = 0 and the classic k = 60 keep the order; k rejects negatives', () => {
    const lists = [new Map([['a', 1], ['b', 2], ['c', 3]]), new Map([['b', 1], ['a', 2], ['c', 3]])];
    for (const k of [0, 60]) {
      const f = reciprocalRankFusion(lists, k);
      assert.ok(f.get('a')! === f.get('b')! && f.get('b')! > f.get('c')!);
    }
    assert.throws(() => reciprocalRankFusion(lists, -1), /invalid RRF k/);
  });
});
