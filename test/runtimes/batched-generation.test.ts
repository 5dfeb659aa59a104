/**
 * Batched text generation: concurrent greedy requests of one service run as one
 * transformers.js generate() over left-padded prompts, and each request still gets
 * exactly what it would get alone (text, token counts, finish reason), streamed to
 * it token by token, its stream ending when its own sequence ends. The tiny GPT-2
 * fixture decodes greedily: "Hello" → " the cat sat on a mat." <eos> (8 tokens),
 * "Say hello" → " world!" <eos> (3), "… tick" → " tock tick …" until the budget.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoModelForCausalLM, AutoTokenizer, Tensor, type PreTrainedModel } from '@huggingface/transformers';
import { generationCodec } from '../../src/batching/generation-codec.js';
import { IncrementalDecoder } from '../../src/runtimes/transformers/incremental-decoder.js';
import { leftPadded } from '../../src/runtimes/transformers/left-padding.js';
import { transformersRuntime } from '../../src/runtimes/transformers/transformers-runtime.js';
import type { LoadedModel } from '../../src/runtimes/runtime.js';
import type { GenerateBatchChunk, GenerateBatchOutput, GenerateInput, GenerateOutput } from '../../src/runtimes/task-io.js';
import { writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { batchHistogram } from '../helpers/batch-metrics.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

const CAT = ' the cat sat on a mat.';

describe('the runtime: one generate() over a batch', () => {
  let root: string;
  let dir: string;
  let model: LoadedModel;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'corral-batched-gen-'));
    dir = writeTinyGpt2(join(root, 'gpt2'));
    model = await transformersRuntime.load({ key: 'gpt2', runtime: 'transformers', path: dir, options: { task: 'text-generation' } }, { threads: 1, allowRemoteModels: false, modelCacheDir: root });
  });
  after(async () => {
    await model?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('a left-padded row gets the logits of its prompt alone (positions come from the mask); shifted positions would not', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const lm = await AutoModelForCausalLM.from_pretrained(dir, { local_files_only: true });
    const prompts = ['Hello', 'once upon a time tick tock'].map((p) => Array.from(tokenizer(p).input_ids.data as BigInt64Array));
    assert.deepEqual(prompts.map((p) => p.length), [5, 11], 'the first row gets 6 pads');
    const padded = leftPadded(prompts, BigInt(tokenizer.eos_token_id!));
    assert.deepEqual(Array.from(padded.attention_mask.data as BigInt64Array).slice(0, 11), [0n, 0n, 0n, 0n, 0n, 0n, 1n, 1n, 1n, 1n, 1n]);
    const batch = await lastLogits(lm, padded);
    for (const [row, ids] of prompts.entries()) {
      const mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
      const alone = await lastLogits(lm, { input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]), attention_mask: mask });
      assert.ok(maxDiff(batch[row]!, alone[0]!) < 1e-5, `row ${row}: ${maxDiff(batch[row]!, alone[0]!)}`);
    }
    // The check can fail: the same padded row with positions counted from the pads differs.
    const width = 11;
    const naive = new Tensor('int64', BigInt64Array.from({ length: 2 * width }, (_, i) => BigInt(i % width)), [2, width]);
    const shifted = await lastLogits(lm, { ...padded, position_ids: naive });
    assert.ok(maxDiff(shifted[0]!, batch[0]!) > 1e-3, 'positions matter to this model');
  });

  const requests: GenerateInput[] = [
    { prompt: 'Hello', maxNewTokens: 20 },
    { prompt: 'Say hello', maxNewTokens: 20 },
    { prompt: 'once upon a time tick', maxNewTokens: 5 },
    { prompt: 'Hello', maxNewTokens: 20, stop: ['sat'] },
    { messages: [{ role: 'user', content: 'Say hello' }], maxNewTokens: 2 },
  ];

  test('a batch answers every request exactly as a single run does', async () => {
    const alone: GenerateOutput[] = [];
    for (const r of requests) alone.push(await model.run(r) as GenerateOutput);
    assert.deepEqual(alone.slice(0, 4).map((o) => [o.text, o.completionTokens, o.finishReason, o.stopReason]), [
      [CAT, 8, 'stop', 'eos_token'],
      [' world!', 3, 'stop', 'eos_token'],
      [' tock tick tock tick tock', 5, 'length', 'length'],
      [' the cat ', 3, 'stop', 'stop_sequence'],
    ]);
    const batched = await model.run({ requests }) as GenerateBatchOutput;
    assert.deepEqual(batched.results, alone);
  });

  test('one chunk per step, its deltas tagged with their row; a row\'s output comes the step it ends, while the others go on', async () => {
    const steps: GenerateBatchChunk[] = [];
    const batched = await model.run({ requests }, (c) => steps.push(c as GenerateBatchChunk)) as GenerateBatchOutput;
    assert.equal(steps.length, 8, 'the longest row (the cat sentence) took 8 steps');
    const chunks = steps.flatMap((s) => s.rows);
    requests.forEach((_, i) => {
      const mine = chunks.filter((c) => c.index === i);
      const outputs = mine.filter((c) => 'output' in c);
      assert.equal(outputs.length, 1, `row ${i} ends once`);
      assert.equal(mine.at(-1), outputs[0], `row ${i}: nothing after its end`);
      assert.deepEqual((outputs[0] as { output: GenerateOutput }).output, batched.results[i]);
      const texts = mine.flatMap((c) => ('text' in c ? [c.text] : []));
      assert.ok(texts.length > 1, `row ${i} streamed ${texts.length} deltas`);
      assert.equal(texts.join(''), batched.results[i]!.text);
    });
    // " world!" ends on its third token; the cat sentence (8 tokens) still streams after it.
    const worldEnd = chunks.findIndex((c) => c.index === 1 && 'output' in c);
    const catEnd = chunks.findIndex((c) => c.index === 0 && 'output' in c);
    assert.ok(worldEnd < catEnd);
    assert.deepEqual(chunks.slice(worldEnd + 1).filter((c) => c.index === 0 && 'text' in c).map((c) => (c as { text: string }).text).join(''), ' on a mat.');
  });

  test('a sampled member runs on its own inside the batch, with its own seed: the same text as alone', async () => {
    const sampled: GenerateInput = { prompt: 'Hello', maxNewTokens: 6, temperature: 5, seed: 42 };
    const alone = await model.run(sampled) as GenerateOutput;
    assert.notEqual(alone.text, ' the cat sat on a mat', 'a hot temperature leaves the greedy path');
    const batched = await model.run({ requests: [requests[0]!, sampled] }) as GenerateBatchOutput;
    assert.deepEqual(batched.results, [await model.run(requests[0]!), alone]);
  });

  test('a malformed member fails the batch with its input error (the batcher then runs the members alone)', async () => {
    await assert.rejects(model.run({ requests: [requests[0]!, { prompt: 'Hello', stop: [''] }] }), {
      name: 'InvalidInputError', message: 'text-generation: stop must be an array of non-empty strings',
    });
    await assert.rejects(model.run({ requests: [] }), { name: 'InvalidInputError', message: 'text-generation: a batch needs requests' });
  });
});

test('incremental decoding gives the full decode, holding a character back until its last byte', async () => {
  const root = mkdtempSync(join(tmpdir(), 'corral-incremental-'));
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(writeTinyGpt2(join(root, 'gpt2')), { local_files_only: true });
    const text = ' the cat héllo 🐈 wörld.\n tick';
    const ids = Array.from(tokenizer(text).input_ids.data as BigInt64Array);
    const decoder = new IncrementalDecoder(tokenizer);
    const deltas = ids.map((id) => decoder.push(id));
    assert.equal(deltas.join(''), text);
    assert.ok(deltas.every((d) => !d.includes('\uFFFD')));
    // 🐈 is four byte tokens: nothing until the fourth.
    const cat = deltas.indexOf('🐈');
    assert.deepEqual(deltas.slice(cat - 3, cat), ['', '', '']);
    // A sequence cut inside a character ends with what it has (as a full decode would).
    const cut = new IncrementalDecoder(tokenizer);
    const upToHalfCat = ids.slice(0, cat - 1);
    assert.equal(upToHalfCat.map((id) => cut.push(id)).join('') + cut.rest(), tokenizer.decode(upToHalfCat));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the codec batches greedy requests together and sends sampled or malformed ones alone', () => {
  const key = (input: GenerateInput) => generationCodec.key(input);
  assert.equal(key({ prompt: 'a', maxNewTokens: 3 }), key({ messages: [{ role: 'user', content: 'b' }], stop: ['x'], maxNewTokens: 40 }));
  assert.equal(key({ prompt: 'a', doSample: false, temperature: 0.7 }), 'greedy');
  for (const alone of [{ prompt: 'a', temperature: 0.7 }, { prompt: 'a', doSample: true, seed: 3 }, { prompt: 'a', maxNewTokens: 0 }, { prompt: '' }, {}] as GenerateInput[]) {
    assert.notEqual(key(alone), 'greedy', JSON.stringify(alone));
    assert.notEqual(key(alone), key(alone), 'each sampled request is its own batch');
  }
  assert.deepEqual(generationCodec.concat([{ prompt: 'a' }, { prompt: 'b' }]), { requests: [{ prompt: 'a' }, { prompt: 'b' }] });
  const output: GenerateOutput = { text: 'y', promptTokens: 1, completionTokens: 1, finishReason: 'length' };
  assert.deepEqual(generationCodec.routeChunk!({ rows: [{ index: 2, text: 'x' }, { index: 0, output }] }), [{ member: 2, chunk: { text: 'x' } }, { member: 0, output }]);
});

describe('through the gateway: concurrent requests share one generate()', () => {
  let server: TestServer;
  // Four at a time fill a batch at once; the long delay only keeps a partial one waiting for its company.
  const GROUP = 4;

  before(async () => {
    server = await startTestServer({ workers: 1 });
    const model = writeTinyGpt2(join(server.home, 'models', 'gpt2'));
    for (const body of [
      { name: 'gpt2-solo', task: 'text-generation', model, max_batch_size: 1 },
      { name: 'gpt2-batch', task: 'text-generation', model, max_batch_size: GROUP, max_queue_delay_microseconds: 10_000_000 },
    ]) {
      const res = await postJson(`${server.url}/api/services?wait=true`, body);
      assert.equal(res.status, 201, await res.text());
    }
  });
  after(async () => { await server?.close(); });

  /** Runs `send` for a group of requests at once on gpt2-batch; the batches they formed. */
  async function asOneGroup<T>(send: () => Promise<T>[]): Promise<{ results: T[]; rows: number; batches: number }> {
    const start = await batchHistogram(server.url, 'gpt2-batch');
    const results = await Promise.all(send());
    const end = await batchHistogram(server.url, 'gpt2-batch');
    return { results, rows: end.sum - start.sum, batches: end.count - start.count };
  }

  interface Completion { choices: Array<{ text: string; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number } }
  const completion = async (model: string, body: Record<string, unknown>) => {
    const res = await postJson(`${server.url}/v1/completions`, { model, ...body });
    const json = await res.json() as Completion;
    assert.equal(res.status, 200, JSON.stringify(json));
    return { text: json.choices[0]!.text, finish: json.choices[0]!.finish_reason, usage: json.usage };
  };

  const bodies = [
    { prompt: 'Hello', max_tokens: 20 },
    { prompt: 'Say hello', max_tokens: 20 },
    { prompt: 'once upon a time tick', max_tokens: 7 },
    { prompt: 'Hello', max_tokens: 20, stop: ['sat'] },
  ];

  test('OpenAI completions: the same texts, token counts and finish reasons as one at a time, from one batch of 4', async () => {
    const alone = [];
    for (const body of bodies) alone.push(await completion('gpt2-solo', body));
    assert.deepEqual(alone.map((a) => [a.text, a.usage.completion_tokens, a.finish]), [
      [CAT, 8, 'stop'], [' world!', 3, 'stop'], [' tock tick tock tick tock tick tock', 7, 'length'], [' the cat ', 3, 'stop'],
    ]);
    const group = await asOneGroup(() => bodies.map((body) => completion('gpt2-batch', body)));
    assert.deepEqual(group.results, alone);
    assert.deepEqual([group.rows, group.batches], [4, 1]);
  });

  test('streams over SSE, NDJSON and TGI from one batch: each token by token, joining to its non-streamed text', async () => {
    const group = await asOneGroup(() => [
      openaiStream({ prompt: 'Hello', max_tokens: 20 }),
      ollamaStream({ prompt: 'Say hello', options: { num_predict: 20 } }),
      tgiStream({ inputs: 'once upon a time tick', parameters: { max_new_tokens: 7 } }),
      openaiStream({ prompt: 'Hello', max_tokens: 20, stop: ['sat'] }),
    ]);
    assert.deepEqual([group.rows, group.batches], [4, 1]);
    const [cat, world, tick, cut] = group.results;
    assert.deepEqual([cat!.text, cat!.finish, cat!.tokens], [CAT, 'stop', 8]);
    assert.deepEqual([world!.text, world!.finish, world!.tokens], [' world!', 'stop', 3]);
    assert.deepEqual([tick!.text, tick!.finish, tick!.tokens], [' tock tick tock tick tock tick tock', 'length', 7]);
    assert.deepEqual([cut!.text, cut!.finish, cut!.tokens], [' the cat ', 'stop', 3], 'the stop string ended only its own row');
    for (const r of group.results) assert.ok(r.pieces > 1, `${r.text}: ${r.pieces} pieces`);
  });

  test('a row that ends early is answered while a longer row of its batch is still generating', async () => {
    let longDone = false;
    let longDoneWhenShortEnded: boolean | undefined;
    const group = await asOneGroup(() => [
      openaiStream({ prompt: 'a tick', max_tokens: 100 }).then((r) => { longDone = true; return r; }),
      openaiStream({ prompt: 'Say hello', max_tokens: 20 }).then((r) => { longDoneWhenShortEnded = longDone; return r; }),
      completion('gpt2-batch', { prompt: 'Hello', max_tokens: 2 }).then((r) => ({ text: r.text, finish: r.finish, tokens: r.usage.completion_tokens, pieces: 1 })),
      openaiStream({ prompt: 'Hello', max_tokens: 3 }),
    ]);
    assert.deepEqual([group.rows, group.batches], [4, 1]);
    assert.deepEqual(group.results.map((r) => [r.tokens, r.finish]), [[100, 'length'], [3, 'stop'], [2, 'length'], [3, 'length']]);
    assert.equal(longDoneWhenShortEnded, false, 'the 3-token stream ended before the 100-token one');
  });

  interface Streamed { text: string; finish: string; tokens: number; pieces: number }

  async function openaiStream(body: Record<string, unknown>): Promise<Streamed> {
    const res = await postJson(`${server.url}/v1/completions`, { model: 'gpt2-batch', stream: true, ...body });
    assert.equal(res.status, 200);
    const events = (await res.text()).split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
    assert.equal(events.pop(), '[DONE]');
    const frames = events.map((e) => JSON.parse(e) as { choices: Array<{ text: string; finish_reason: string | null }>; usage?: { completion_tokens: number } });
    const last = frames.pop()!;
    return { text: frames.map((f) => f.choices[0]!.text).join(''), finish: last.choices[0]!.finish_reason!, tokens: last.usage!.completion_tokens, pieces: frames.length };
  }

  async function ollamaStream(body: Record<string, unknown>): Promise<Streamed> {
    const res = await postJson(`${server.url}/api/generate`, { model: 'gpt2-batch', ...body });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const frames = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { response: string; done: boolean; done_reason?: string; eval_count?: number });
    const last = frames.pop()!;
    assert.ok(last.done && frames.every((f) => !f.done));
    return { text: frames.map((f) => f.response).join(''), finish: last.done_reason!, tokens: last.eval_count!, pieces: frames.length };
  }

  async function tgiStream(body: Record<string, unknown>): Promise<Streamed> {
    const res = await postJson(`${server.url}/generate_stream`, { model: 'gpt2-batch', ...body });
    assert.equal(res.status, 200);
    const frames = (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as {
      token: { text: string }; generated_text: string | null; details: { finish_reason: string; generated_tokens: number } | null;
    });
    const last = frames.pop()!;
    const text = frames.map((f) => f.token.text).join('');
    assert.equal(last.generated_text, text);
    return { text, finish: last.details!.finish_reason, tokens: last.details!.generated_tokens, pieces: frames.length };
  }
});

async function lastLogits(lm: PreTrainedModel, inputs: Record<string, Tensor>): Promise<Float32Array[]> {
  const { logits } = await lm(inputs) as { logits: Tensor };
  const [rows, seq, vocab] = logits.dims as [number, number, number];
  const data = logits.data as Float32Array;
  return Array.from({ length: rows }, (_, r) => data.subarray((r * seq + seq - 1) * vocab, (r * seq + seq) * vocab));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
