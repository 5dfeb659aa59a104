/**
 * The transformers runtime in-process, for real: tiny random-weight Hugging Face
 * checkpoints (test/fixtures/transformers) loaded through transformers.js from a
 * plain directory, a hub-cache snapshot and a hub id, then every task. transformers.js
 * is given a fetch that fails the test, so nothing here may touch the network.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer, env as hfEnv } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { transformersRuntime } from '../../src/runtimes/transformers/transformers-runtime.js';
import type { LoadedModel, RuntimeEnv } from '../../src/runtimes/runtime.js';
import type {
  EmbeddingResult,
  GenerateChunk,
  GenerateInput,
  GenerateOutput,
  LabelScore,
  TextListInput,
  TextListOutput,
  TokenEntity,
  ZeroShotResult,
} from '../../src/runtimes/task-io.js';
import {
  TINY_BERT_HIDDEN,
  TINY_GPT2_CHAT_TEMPLATE,
  TINY_GPT2_HIDDEN,
  writeHfCacheSnapshot,
  writeTinyBert,
  writeTinyGpt2,
  type TinyBertTask,
} from '../fixtures/transformers/index.js';

const networkCalls: string[] = [];
hfEnv.fetch = async (url: string | URL) => {
  networkCalls.push(String(url));
  throw new Error(`network access attempted in a test: ${url}`);
};

let root: string;
let cacheDir: string;
const dirs = {} as Record<TinyBertTask | 'gpt2' | 'gpt2-chat', string>;
const env = (): RuntimeEnv => ({ threads: 1, allowRemoteModels: false, modelCacheDir: cacheDir });
const loaded: LoadedModel[] = [];

async function load(path: string, options: Record<string, unknown>, runtimeEnv = env()): Promise<LoadedModel> {
  const model = await transformersRuntime.load({ key: `${path}#${options.task}`, runtime: 'transformers', path, options }, runtimeEnv);
  loaded.push(model);
  return model;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'corral-transformers-'));
  cacheDir = join(root, 'hub');
  for (const task of ['feature-extraction', 'text-classification', 'token-classification', 'zero-shot-classification'] as const) {
    dirs[task] = writeTinyBert(join(root, task), { task });
  }
  dirs.gpt2 = writeTinyGpt2(join(root, 'gpt2'));
  dirs['gpt2-chat'] = writeTinyGpt2(join(root, 'gpt2-chat'), { chatTemplate: TINY_GPT2_CHAT_TEMPLATE });
  writeHfCacheSnapshot(cacheDir, 'tiny/bert', 'abc123', dirs['feature-extraction']);
});

after(async () => {
  await Promise.all(loaded.map((m) => m.dispose()));
  rmSync(root, { recursive: true, force: true });
  assert.deepEqual(networkCalls, [], 'transformers.js must not touch the network');
});

const embed = async (m: LoadedModel, input: TextListInput) => ((await m.run(input)) as TextListOutput<EmbeddingResult>).results;
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('tiny Hugging Face fixtures', () => {
  test('the BERT tokenizer is uncased WordPiece with [CLS] … [SEP]', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(dirs['feature-extraction'], { local_files_only: true });
    const ids = tokenizer.encode('Playing football!');
    assert.deepEqual(tokenizer.convert_tokens_to_ids(['[CLS]', 'play', '##ing', 'football', '!', '[SEP]']), ids);
  });

  test('the GPT-2 tokenizer is byte-level BPE: fixture words are single tokens, other text falls back to bytes', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(dirs.gpt2, { local_files_only: true });
    assert.deepEqual(tokenizer.tokenize('Hi the cat sat'), ['H', 'i', 'Ġthe', 'Ġcat', 'Ġsat']);
    assert.equal(tokenizer.decode(tokenizer.encode(' héllo wörld\n')), ' héllo wörld\n');
  });

  test('the GPT-2 KV cache is real: one cached step gives the logits of a full pass', async () => {
    const session = await ort.InferenceSession.create(join(dirs.gpt2, 'onnx', 'model.onnx'));
    const ids = [10n, 20n, 30n, 40n, 50n];
    const int64 = (values: bigint[]) => new ort.Tensor('int64', BigInt64Array.from(values), [1, values.length]);
    const emptyCache = new ort.Tensor('float32', new Float32Array(0), [1, 1, 0, TINY_GPT2_HIDDEN]);
    const positions = (from: number, n: number) => int64(Array.from({ length: n }, (_, i) => BigInt(from + i)));
    const full = await session.run({
      input_ids: int64(ids),
      attention_mask: int64(ids.map(() => 1n)),
      position_ids: positions(0, 5),
      'past_key_values.0.key': emptyCache,
      'past_key_values.0.value': emptyCache,
    });
    const prefix = await session.run({
      input_ids: int64(ids.slice(0, 4)),
      attention_mask: int64(ids.slice(0, 4).map(() => 1n)),
      position_ids: positions(0, 4),
      'past_key_values.0.key': emptyCache,
      'past_key_values.0.value': emptyCache,
    });
    const step = await session.run({
      input_ids: int64(ids.slice(4)),
      attention_mask: int64(ids.map(() => 1n)),
      position_ids: positions(4, 1),
      'past_key_values.0.key': prefix['present.0.key']!,
      'past_key_values.0.value': prefix['present.0.value']!,
    });
    const vocab = full.logits!.dims[2]!;
    const last = (full.logits!.data as Float32Array).slice(4 * vocab);
    assert.ok(maxDiff(last, step.logits!.data as Float32Array) < 1e-5);
    // …and the context matters: without the cache the same token scores differently.
    const alone = await session.run({
      input_ids: int64(ids.slice(4)),
      attention_mask: int64([1n]),
      position_ids: positions(4, 1),
      'past_key_values.0.key': emptyCache,
      'past_key_values.0.value': emptyCache,
    });
    assert.ok(maxDiff(last, alone.logits!.data as Float32Array) > 1e-4);
    await session.release();
  });
});

describe('transformers runtime: loading', () => {
  test('loads a plain model directory; sizeBytes is the ONNX weights', async () => {
    const m = await load(dirs['feature-extraction'], { task: 'feature-extraction' });
    assert.equal(m.sizeBytes, statSync(join(dirs['feature-extraction'], 'onnx', 'model.onnx')).size);
    assert.equal((await embed(m, { texts: ['hello'] })).length, 1);
  });

  test('loads a hub-cache snapshot directory (models--tiny--bert/snapshots/abc123)', async () => {
    const snapshot = join(cacheDir, 'models--tiny--bert', 'snapshots', 'abc123');
    const plain = await load(dirs['feature-extraction'], { task: 'feature-extraction' });
    const cached = await load(snapshot, { task: 'feature-extraction' });
    const repo = await load(join(cacheDir, 'models--tiny--bert'), { task: 'feature-extraction' }); // → refs/main
    assert.equal(cached.sizeBytes, plain.sizeBytes);
    const [a] = await embed(plain, { texts: ['the cat sat'] });
    for (const m of [cached, repo]) {
      const [b] = await embed(m, { texts: ['the cat sat'] });
      assert.ok(maxDiff(a!.embedding, b!.embedding) < 1e-6);
    }
  });

  test('loads a hub id from the model cache, by refs/main or by revision, without the network', async () => {
    for (const options of [{}, { revision: 'abc123' }, { revision: 'main' }]) {
      const m = await load('tiny/bert', { task: 'feature-extraction', ...options });
      assert.equal((await embed(m, { texts: ['hello'] }))[0]!.embedding.length, TINY_BERT_HIDDEN);
    }
    // Even with remote models allowed, a cached model is used as is.
    const m = await load('tiny/bert', { task: 'feature-extraction' }, { ...env(), allowRemoteModels: true });
    assert.equal((await embed(m, { texts: ['hello'] })).length, 1);
  });

  test('a missing directory fails with a clear message', async () => {
    await assert.rejects(load(join(root, 'does-not-exist'), { task: 'feature-extraction' }), /model directory not found: .*does-not-exist/);
    await assert.rejects(load('./relative/missing', { task: 'feature-extraction' }), /model directory not found/);
  });

  test('an uncached hub id with remote models disabled fails without a download, naming the cache and the setting', async () => {
    await assert.rejects(
      load('Xenova/all-MiniLM-L6-v2', { task: 'feature-extraction' }),
      (err: Error) => /not in the model cache/.test(err.message) && /CORRAL_ALLOW_REMOTE_MODELS/.test(err.message),
    );
    await assert.rejects(load('tiny/bert', { task: 'feature-extraction', revision: 'v9' }), /not in the model cache/);
  });

  test('rejects directories that are not models, and bad options', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    await assert.rejects(load(empty, { task: 'feature-extraction' }), /has no config\.json/);
    writeFileSync(join(root, 'file.onnx'), 'x');
    await assert.rejects(load(join(root, 'file.onnx'), { task: 'feature-extraction' }), /is a file/);
    await assert.rejects(load(dirs['feature-extraction'], {}), /options\.task is required/);
    await assert.rejects(load(dirs['feature-extraction'], { task: 'fill-mask' }), /options\.task must be one of/);
    await assert.rejects(load(dirs['feature-extraction'], { task: 'feature-extraction', pooling: 'max' }), /options\.pooling/);
    await assert.rejects(load(dirs['feature-extraction'], { task: 'feature-extraction', dtype: 'q8' }), /cannot load .*model_quantized\.onnx/);
  });

  test('a disposed model refuses to run', async () => {
    const m = await transformersRuntime.load(
      { key: 'disposable', runtime: 'transformers', path: dirs['text-classification'], options: { task: 'text-classification' } },
      env(),
    );
    await m.dispose();
    await m.dispose();
    await assert.rejects(m.run({ texts: ['hi'] }), /disposed/);
  });
});

describe('feature-extraction', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(dirs['feature-extraction'], { task: 'feature-extraction' });
  });

  test('one unit-norm Float32Array per text, with its token count', async () => {
    const results = await embed(model, { texts: ['hello world', 'I love playing football'] });
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.ok(r.embedding instanceof Float32Array);
      assert.equal(r.embedding.length, TINY_BERT_HIDDEN);
      assert.ok(Math.abs(norm(r.embedding) - 1) < 1e-5);
    }
    // [CLS] hello world [SEP]; [CLS] i love play ##ing football [SEP]
    assert.deepEqual(results.map((r) => r.tokens), [4, 7]);
  });

  test('a text embeds the same alone as in a padded batch of 3', async () => {
    const texts = ['the cat', 'what a wonderful day in paris today', 'hello'];
    const batch = await embed(model, { texts });
    for (const [i, text] of texts.entries()) {
      const [alone] = await embed(model, { texts: [text] });
      assert.ok(maxDiff(alone!.embedding, batch[i]!.embedding) < 1e-4, `text ${i}`);
      assert.equal(alone!.tokens, batch[i]!.tokens);
    }
  });

  test('different texts give different embeddings', async () => {
    const [a, b, c] = await embed(model, { texts: ['the cat sat', 'the election vote', 'the cat sat'] });
    assert.ok(maxDiff(a!.embedding, b!.embedding) > 1e-3);
    assert.ok(maxDiff(a!.embedding, c!.embedding) < 1e-6);
  });

  test('normalize: false and pooling: cls are honoured', async () => {
    const raw = await load(dirs['feature-extraction'], { task: 'feature-extraction', normalize: false });
    const cls = await load(dirs['feature-extraction'], { task: 'feature-extraction', pooling: 'cls' });
    const [mean] = await embed(model, { texts: ['the cat sat'] });
    const [unnormalized] = await embed(raw, { texts: ['the cat sat'] });
    const [first] = await embed(cls, { texts: ['the cat sat'] });
    assert.ok(Math.abs(norm(unnormalized!.embedding) - 1) > 1e-3);
    const rescaled = unnormalized!.embedding.map((x) => x / norm(unnormalized!.embedding));
    assert.ok(maxDiff(rescaled, mean!.embedding) < 1e-5);
    assert.ok(maxDiff(first!.embedding, mean!.embedding) > 1e-3);
  });

  test('an instruction is prefixed to its text (Instructor-style approximation)', async () => {
    const [instructed, plain] = await embed(model, { texts: ['the cat sat', 'the cat sat'], instructions: ['represent the topic:', ''] });
    const [prefixed, alone] = await embed(model, { texts: ['represent the topic: the cat sat', 'the cat sat'] });
    assert.ok(maxDiff(instructed!.embedding, prefixed!.embedding) < 1e-6);
    assert.ok(maxDiff(plain!.embedding, alone!.embedding) < 1e-6);
    assert.ok(maxDiff(instructed!.embedding, plain!.embedding) > 1e-3);
  });

  test('bad input is rejected with what is wrong', async () => {
    await assert.rejects(model.run({ texts: [] }), /texts must be a non-empty array/);
    await assert.rejects(model.run({}), /texts must be a non-empty array/);
    await assert.rejects(model.run('hello'), /input must be an object/);
    await assert.rejects(model.run({ texts: ['ok', ''] }), /texts\[1\] is empty/);
    await assert.rejects(model.run({ texts: ['ok', 3] }), /texts\[1\] must be a string/);
    await assert.rejects(model.run({ texts: ['a', 'b'], instructions: ['x'] }), /one string per text/);
  });
});

describe('text-classification', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(dirs['text-classification'], { task: 'text-classification' });
  });
  const classify = async (input: TextListInput) => ((await model.run(input)) as TextListOutput<LabelScore[]>).results;

  test('labels come from config.json id2label; the top label by default', async () => {
    const results = await classify({ texts: ['I love this great movie', 'what an awful boring film'] });
    assert.deepEqual(results.map((r) => r.map((s) => s.label)), [['POSITIVE'], ['NEGATIVE']]);
    assert.ok(results.every(([top]) => top!.score > 0.9 && top!.score <= 1));
  });

  test('topK returns that many labels, best first, as a distribution', async () => {
    const [scores] = await classify({ texts: ['I love it'], options: { topK: 5 } });
    assert.deepEqual(scores!.map((s) => s.label), ['POSITIVE', 'NEGATIVE']);
    assert.ok(scores![0]!.score >= scores![1]!.score);
    assert.ok(Math.abs(scores![0]!.score + scores![1]!.score - 1) < 1e-6);
    await assert.rejects(model.run({ texts: ['x'], options: { topK: 0 } }), /topK must be a positive integer/);
  });
});

describe('token-classification', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(dirs['token-classification'], { task: 'token-classification' });
  });

  test('tags names, places and companies with their token index and character offsets', async () => {
    const texts = ['John lives in Paris and works at Google', 'nothing to see here'];
    const [entities, none] = ((await model.run({ texts })) as TextListOutput<TokenEntity[]>).results;
    assert.deepEqual(
      entities!.map(({ entity, word, index, start, end }) => ({ entity, word, index, start, end })),
      [
        { entity: 'B-PER', word: 'john', index: 1, start: 0, end: 4 },
        { entity: 'B-LOC', word: 'paris', index: 4, start: 14, end: 19 },
        { entity: 'B-ORG', word: 'google', index: 8, start: 33, end: 39 },
      ],
    );
    for (const e of entities!) {
      assert.ok(e.score > 0.5 && e.score <= 1);
      assert.equal(texts[0]!.slice(e.start, e.end).toLowerCase(), e.word);
    }
    assert.deepEqual(none, []);
  });
});

describe('zero-shot-classification', () => {
  let model: LoadedModel;
  before(async () => {
    model = await load(dirs['zero-shot-classification'], { task: 'zero-shot-classification' });
  });
  const classify = async (input: TextListInput) => ((await model.run(input)) as TextListOutput<ZeroShotResult>).results;
  const labels = ['politics', 'sports', 'food', 'technology'];

  test('ranks every candidate label, best first, as one distribution', async () => {
    const results = await classify({ texts: ['I love playing football', 'the government lost the vote', 'pizza for dinner'], options: { labels } });
    assert.deepEqual(results.map((r) => r.labels[0]), ['sports', 'politics', 'food']);
    for (const r of results) {
      assert.deepEqual([...r.labels].sort(), [...labels].sort());
      assert.ok(Math.abs(r.scores.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      assert.deepEqual([...r.scores].sort((a, b) => b - a), r.scores);
    }
  });

  test('multiLabel scores each label on its own; a custom hypothesis template is used', async () => {
    const [multi] = await classify({ texts: ['football and pizza'], options: { labels, multiLabel: true } });
    assert.deepEqual(multi!.labels.slice(0, 2).sort(), ['food', 'sports']);
    assert.ok(multi!.scores[0]! > 0.9 && multi!.scores[1]! > 0.9 && multi!.scores[2]! < 0.5);
    const [custom] = await classify({ texts: ['my new phone'], options: { labels, hypothesisTemplate: 'It is about {}.' } });
    assert.equal(custom!.labels[0], 'technology');
  });

  test('a premise longer than the model max length is shortened, not the hypothesis', async () => {
    const [long] = await classify({ texts: [`football: ${'we watched the match '.repeat(30)}`], options: { labels } });
    assert.equal(long!.labels[0], 'sports');
  });

  test('labels are required', async () => {
    await assert.rejects(model.run({ texts: ['x'] }), /options\.labels must be a non-empty array/);
    await assert.rejects(model.run({ texts: ['x'], options: { labels: [] } }), /options\.labels must be a non-empty array/);
    await assert.rejects(model.run({ texts: ['x'], options: { labels: ['a'], hypothesisTemplate: 'no slot' } }), /hypothesisTemplate/);
  });
});

describe('text-generation', () => {
  let model: LoadedModel;
  let chat: LoadedModel;
  before(async () => {
    model = await load(dirs.gpt2, { task: 'text-generation' });
    chat = await load(dirs['gpt2-chat'], { task: 'text-generation' });
  });
  const generate = async (m: LoadedModel, input: GenerateInput) => {
    const chunks: GenerateChunk[] = [];
    const output = (await m.run(input, (c) => chunks.push(c as GenerateChunk))) as GenerateOutput;
    return { output, deltas: chunks.map((c) => c.text) };
  };
  const countTokens = async (dir: string, text: string) =>
    (await AutoTokenizer.from_pretrained(dir, { local_files_only: true })).encode(text, { add_special_tokens: false }).length;

  test('greedy decoding is deterministic and ends at <|endoftext|>', async () => {
    const { output, deltas } = await generate(model, { prompt: 'Hello' });
    assert.deepEqual(output, { text: ' the cat sat on a mat.', promptTokens: 5, completionTokens: 8, finishReason: 'stop', stopReason: 'eos_token' });
    assert.deepEqual(deltas, [' the', ' cat', ' sat', ' on', ' a', ' mat', '.']);
    assert.deepEqual((await generate(model, { prompt: 'Hello' })).output, output);
    assert.equal((await generate(model, { prompt: 'Say hello' })).output.text, ' world!');
  });

  test('maxNewTokens caps the completion (finishReason length); the default is 64', async () => {
    const { output, deltas } = await generate(model, { prompt: 'Hello', maxNewTokens: 3 });
    assert.deepEqual(output, { text: ' the cat sat', promptTokens: 5, completionTokens: 3, finishReason: 'length', stopReason: 'length' });
    assert.equal(deltas.join(''), output.text);
    const endless = (await generate(model, { prompt: 'tick tick' })).output;
    assert.equal(endless.completionTokens, 64);
    assert.equal(endless.finishReason, 'length');
    assert.equal(endless.text, ' tock tick'.repeat(32));
  });

  test('a stop string cuts the text, ends generation, and is never streamed', async () => {
    const { output, deltas } = await generate(model, { prompt: 'Hello', stop: ['sat on'] });
    assert.deepEqual(output, { text: ' the cat ', promptTokens: 5, completionTokens: 4, finishReason: 'stop', stopReason: 'stop_sequence' });
    assert.equal(deltas.join(''), ' the cat ');
    assert.ok(deltas.every((d) => !d.includes('sat')));

    // A stop inside a token, the earliest of several, and one that never appears.
    assert.equal((await generate(model, { prompt: 'Hello', stop: ['mat', 'at'] })).output.text, ' the c');
    const unmatched = await generate(model, { prompt: 'Hello', stop: ['dog', 'mat!'] }); // 'mat' is held back, then released
    assert.equal(unmatched.output.text, ' the cat sat on a mat.');
    assert.equal(unmatched.deltas.join(''), unmatched.output.text);
  });

  test('messages use the chat template when the tokenizer has one, else "role: content" lines', async () => {
    const messages = [
      { role: 'system' as const, content: 'be nice' },
      { role: 'user' as const, content: 'Say hello' },
    ];
    const plain = (await generate(model, { messages })).output;
    assert.equal(plain.promptTokens, await countTokens(dirs.gpt2, 'system: be nice\nuser: Say hello\nassistant:'));
    assert.equal(plain.text, ' the cat sat on a mat.');
    const templated = (await generate(chat, { messages })).output;
    assert.equal(templated.promptTokens, await countTokens(dirs['gpt2-chat'], '<|system|> be nice\n<|user|> Say hello\n<|assistant|>'));
  });

  test('concurrent runs do not interfere', async () => {
    const prompts = ['Hello', 'Say hello', 'once upon', 'Hello'];
    const outputs = await Promise.all(prompts.map((prompt) => generate(model, { prompt, maxNewTokens: 10 })));
    assert.deepEqual(outputs.map((o) => o.output.text), [' the cat sat on a mat.', ' world!', ' a mat.', ' the cat sat on a mat.']);
    for (const o of outputs) assert.equal(o.deltas.join(''), o.output.text);
  });

  test('sampling (temperature > 0) still respects maxNewTokens and streams the text', async () => {
    const { output, deltas } = await generate(model, { prompt: 'Hello', temperature: 1.5, topK: 5, maxNewTokens: 4 });
    assert.ok(output.completionTokens >= 1 && output.completionTokens <= 4);
    assert.equal(deltas.join(''), output.text);
  });

  test('bad input is rejected with what is wrong', async () => {
    await assert.rejects(model.run({}), /needs a prompt .* or messages/);
    await assert.rejects(model.run({ prompt: '' }), /prompt is empty/);
    await assert.rejects(model.run({ prompt: 'x', maxNewTokens: 0 }), /maxNewTokens must be a positive integer/);
    await assert.rejects(model.run({ prompt: 'x', stop: 'x' }), /stop must be an array/);
    await assert.rejects(model.run({ messages: [] }), /messages must be a non-empty array/);
    await assert.rejects(model.run({ messages: [{ role: 'robot', content: 'x' }] }), /role must be one of/);
  });
});
