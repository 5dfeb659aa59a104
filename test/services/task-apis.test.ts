/**
 * The task APIs end to end against a real server: the built-in embed, keyterms
 * and OCR services out of the box; transformers services (tiny random-weight
 * checkpoints from test/fixtures/transformers, one of them found in the hub
 * cache under CORRAL_HOME/hub) created through POST /api/services and used
 * through Laminoid's routes, the official `openai` client, TGI's /generate and
 * /generate_stream, the Inference-API-style /predict, and the /services/<name>/
 * proxy; stopping and deleting a service; dynamic batching of text requests.
 * Real worker processes, no mocks, no network.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { renderTextImage } from '../fixtures/text-image.js';
import { TINY_BERT_HIDDEN, writeHfCacheSnapshot, writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

const LAMINOID = ['The sun rises in the east.', 'Cats are curious animals.', 'Rainbows appear after the rain.'];
/** What the tiny GPT-2 says after "Hello" (and after any prompt ending in a plain byte) under greedy decoding. */
const CAT = ' the cat sat on a mat.';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const HUB_ID = 'tiny-org/tiny-bert';

interface ServiceView {
  id: string; name: string; task: string; runtime: string; model: string; model_path: string;
  revision: string | null; status: string; reason: string | null;
}
interface LabelScore { label: string; score: number }
interface TokenEntity { entity: string; score: number; index: number; word: string; start?: number; end?: number }
interface ZeroShot { labels: string[]; scores: number[] }

let server: TestServer;
let openai: OpenAI;
const created: Record<string, ServiceView> = {};

/** Every service the file uses, created at once with ?wait=true. */
function serviceBodies(home: string): Array<Record<string, unknown>> {
  const bert = (task: Parameters<typeof writeTinyBert>[1]['task']) => writeTinyBert(join(home, 'models', task), { task });
  const plain = bert('feature-extraction');
  writeHfCacheSnapshot(join(home, 'hub'), HUB_ID, COMMIT, plain);
  return [
    // A short queue delay makes concurrent requests share batches however fast the machine is.
    { name: 'bert-plain', task: 'feature-extraction', model: plain, max_queue_delay_microseconds: 20_000 },
    { name: 'bert-hub', task: 'feature-extraction', model: HUB_ID },
    { name: 'sentiment', task: 'sentiment-analysis', model: bert('text-classification') },
    { name: 'ner', task: 'token-classification', model: bert('token-classification') },
    { name: 'zeroshot', task: 'zero-shot-classification', model: bert('zero-shot-classification') },
    { name: 'gpt2', task: 'text-generation', model: writeTinyGpt2(join(home, 'models', 'gpt2')) },
  ];
}

before(async () => {
  server = await startTestServer();
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  await Promise.all(serviceBodies(server.home).map(async (body) => {
    const res = await postJson(`${server.url}/api/services?wait=true`, body);
    const view = await res.json() as ServiceView;
    assert.equal(res.status, 201, JSON.stringify(view));
    created[body.name as string] = view;
  }));
});
after(async () => { await server?.close(); });

async function post<T = unknown>(path: string, body: unknown): Promise<{ status: number; json: T }> {
  const res = await postJson(`${server.url}${path}`, body);
  return { status: res.status, json: await res.json() as T };
}

/** POST that must answer 200; returns the JSON. */
async function ok<T>(path: string, body: unknown): Promise<T> {
  const { status, json } = await post<T>(path, body);
  assert.equal(status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  return Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
};
const compact = (s: string) => s.toLowerCase().replace(/\s+/g, '');
const errorOf = (json: unknown) => {
  const e = (json as { error: string | { message: string } }).error;
  return typeof e === 'string' ? e : e.message;
};

/** The `data:` payloads of a server-sent event stream, in order. */
async function sseEvents(res: Response): Promise<string[]> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await res.text();
  return text.split('\n\n').filter((frame) => frame.trim() !== '').map((frame) => {
    const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    assert.equal(data.length, 1, `one data line per frame: ${JSON.stringify(frame)}`);
    return data[0]!;
  });
}

/** corral_batch_size sum and count of one service, from /metrics. */
async function batchHistogram(label: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (suffix: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`corral_batch_size_${suffix}{`) && l.includes(`model="${label}"`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { sum: read('sum'), count: read('count') };
}

describe('built-in services, out of the box', () => {
  test("POST /embed with Laminoid's example: three unit-norm 100-dimensional vectors", async () => {
    const out = await ok<{ embeddings: number[][]; model: string }>('/embed', { sentences: LAMINOID });
    assert.equal(out.model, 'embed');
    assert.equal(out.embeddings.length, 3);
    for (const v of out.embeddings) {
      assert.equal(v.length, 100);
      assert.ok(Math.abs(norm(v) - 1) < 1e-4, `norm ${norm(v)}`);
    }
    assert.ok(maxDiff(out.embeddings[0]!, out.embeddings[1]!) > 1e-3, 'different sentences, different vectors');
  });

  test('/embed accepts an instruction, one for all or one per sentence', async () => {
    for (const instruction of ['Represent the sentence for retrieval:', ['a', 'b', 'c']]) {
      const out = await ok<{ embeddings: number[][] }>('/embed', { sentences: LAMINOID, instruction });
      assert.equal(out.embeddings.length, 3);
      for (const v of out.embeddings) {
        assert.equal(v.length, 100);
        assert.ok(Math.abs(norm(v) - 1) < 1e-4);
      }
    }
  });

  test('POST /keyterms: sensible nouns per sentence, scores descending in (0, 1]', async () => {
    const out = await ok<{ keyterms: string[][]; scores: number[][]; model: string }>('/keyterms', { sentences: LAMINOID });
    assert.equal(out.model, 'keyterms');
    assert.equal(out.keyterms.length, 3);
    assert.equal(out.scores.length, 3);
    const words = out.keyterms.map((terms) => terms.flatMap((t) => t.split(' ')));
    assert.ok(words[0]!.some((w) => w === 'east' || w === 'sun'), JSON.stringify(out.keyterms[0]));
    assert.ok(words[1]!.some((w) => w === 'cats' || w === 'cat' || w === 'animals'), JSON.stringify(out.keyterms[1]));
    assert.ok(words[2]!.some((w) => w === 'rainbows' || w === 'rainbow' || w === 'rain'), JSON.stringify(out.keyterms[2]));
    // Under the default top of 5: each sentence has two candidate terms.
    assert.deepEqual(out.keyterms.map((terms) => terms.length), [2, 2, 2], JSON.stringify(out.keyterms));
    for (const [i, scores] of out.scores.entries()) {
      assert.equal(scores.length, out.keyterms[i]!.length);
      for (const [j, s] of scores.entries()) {
        assert.ok(s > 0 && s <= 1, `score ${s}`);
        if (j > 0) assert.ok(scores[j - 1]! >= s, `not descending: ${JSON.stringify(scores)}`);
      }
    }
  });

  test('/keyterms respects top', async () => {
    const one = await ok<{ keyterms: string[][]; scores: number[][] }>('/keyterms', { sentences: LAMINOID, top: 1 });
    assert.deepEqual(one.keyterms.map((t) => t.length), [1, 1, 1]);
    assert.deepEqual(one.scores.map((s) => s.length), [1, 1, 1]);
    const all = await ok<{ keyterms: string[][] }>('/keyterms', { sentences: LAMINOID });
    assert.deepEqual(one.keyterms.map((t) => t[0]), all.keyterms.map((t) => t[0]), 'top 1 is the best of the default list');
  });

  describe('POST /ocr', () => {
    let png: Buffer;
    before(async () => { png = await renderTextImage(['Hello World 2026'], { width: 800, height: 200 }); });
    const assertReads = (out: { text: string; lines: Array<{ text: string; confidence: number; box: number[][] }>; model: string }) => {
      assert.equal(out.model, 'ocr');
      const text = compact(out.text);
      assert.ok(text.includes('hello') && text.includes('world'), `read ${JSON.stringify(out.text)}`);
      assert.equal(out.lines.length, 1, JSON.stringify(out.lines));
      for (const line of out.lines) {
        assert.ok(line.confidence > 0 && line.confidence <= 1);
        assert.equal(line.box.length, 4);
      }
    };

    test('reads an image sent as multipart field "file"', async () => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'page.png');
      const res = await fetch(`${server.url}/ocr`, { method: 'POST', body: form });
      const json = await res.json();
      assert.equal(res.status, 200, JSON.stringify(json));
      assertReads(json as Parameters<typeof assertReads>[0]);
    });

    test('reads an image sent as base64 JSON, plain or as a data: URL', async () => {
      assertReads(await ok('/ocr', { image: png.toString('base64') }));
      assertReads(await ok('/ocr', { image: `data:image/png;base64,${png.toString('base64')}` }));
    });

    test('the built-in services run on every worker: four images at once load OCR in both workers', async () => {
      const service = await (await fetch(`${server.url}/api/services/ocr`)).json() as { id: string; replicas: number };
      assert.equal(service.replicas, 0, 'built-ins have one replica per worker');
      const outs = await Promise.all(Array.from({ length: 4 }, () => ok<Parameters<typeof assertReads>[0]>('/ocr', { image: png.toString('base64') })));
      outs.forEach(assertReads);
      // Workers report what they hold every 2 s.
      const holdsOcr = (w: { loadedModels: string[] }) => w.loadedModels.some((key) => key.startsWith(`service:${service.id}@`));
      let workers: Array<{ id: string; loadedModels: string[] }> = [];
      for (let i = 0; i < 50 && !(workers.length === 2 && workers.every(holdsOcr)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        workers = await (await fetch(`${server.url}/api/workers`)).json() as typeof workers;
      }
      assert.deepEqual(workers.map(holdsOcr), [true, true], JSON.stringify(workers.map((w) => [w.id, w.loadedModels])));
    });

    test('engine and lang: chosen per request (query of a multipart upload, or JSON fields), each line names its engine', async () => {
      type Read = { text: string; lines: Array<{ text: string; engine: string }> };
      const invoice = await renderTextImage(['Total due: $249.99 (incl. shipping)'], { fontSize: 32 });
      for (const engine of ['paddle', 'tesseract', 'auto'] as const) {
        const out = await ok<Read>('/ocr', { image: invoice.toString('base64'), engine, lang: 'eng' });
        assert.equal(out.text, 'Total due: $249.99 (incl. shipping)', engine);
        // On a clean document auto keeps Tesseract's reading, which PaddleOCR had no reason to doubt.
        assert.deepEqual(out.lines.map((l) => l.engine), [engine === 'paddle' ? 'paddle' : 'tesseract'], engine);
      }
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(invoice)], { type: 'image/png' }), 'page.png');
      const res = await fetch(`${server.url}/ocr?engine=paddle`, { method: 'POST', body: form });
      const json = await res.json() as Read;
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.deepEqual(json.lines.map((l) => [l.text, l.engine]), [['Total due: $249.99 (incl. shipping)', 'paddle']]);
    });

    test('a bad engine or lang is a 400 naming it; a language that is not installed names its npm package', async () => {
      const image = png.toString('base64');
      const badEngine = await post('/ocr', { image, engine: 'easyocr' });
      assert.equal(badEngine.status, 400);
      assert.equal(errorOf(badEngine.json), '"engine" must be one of auto, paddle, tesseract; got "easyocr".');
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'page.png');
      const res = await fetch(`${server.url}/ocr?lang=../eng`, { method: 'POST', body: form });
      assert.equal(res.status, 400);
      assert.equal(errorOf(await res.json()), '"lang" must be one Tesseract language code such as "eng", "deu" or "chi_sim"; got "../eng".');
      const missing = await post('/ocr', { image, engine: 'tesseract', lang: 'deu' });
      assert.equal(missing.status, 400, JSON.stringify(missing.json));
      assert.equal(errorOf(missing.json), "Model 'ocr' rejected the input: ocr: no Tesseract language data for lang 'deu': install the npm package @tesseract.js-data/deu");
      // The service still answers in its own language afterwards.
      const after = await ok<{ text: string }>('/ocr', { image, engine: 'tesseract' });
      assert.equal(after.text, 'Hello World 2026');
    });

    test('a file that is not an image is a 400', async () => {
      const bytes = Buffer.from('this is plain text, not a picture of any kind');
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'page.png');
      const res = await fetch(`${server.url}/ocr`, { method: 'POST', body: form });
      const json = await res.json();
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.match(errorOf(json), /image/i);
      const asJson = await post('/ocr', { image: bytes.toString('base64') });
      assert.equal(asJson.status, 400, JSON.stringify(asJson.json));
    });
  });
});

describe('transformers services created through the API', () => {
  test('every service is RUNNING on the transformers runtime (the default for these tasks)', () => {
    for (const [name, view] of Object.entries(created)) {
      assert.equal(view.status, 'RUNNING', `${name}: ${view.reason}`);
      assert.equal(view.runtime, 'transformers', name);
    }
    assert.equal(created.sentiment!.task, 'text-classification', 'the alias is stored as the canonical task');
  });

  test('a plain model directory has no revision; a hub id found in CORRAL_HOME/hub is pinned to the snapshot commit', async () => {
    assert.equal(created['bert-plain']!.revision, null);
    const hub = await (await fetch(`${server.url}/api/services/bert-hub`)).json() as ServiceView;
    assert.equal(hub.model, HUB_ID);
    assert.equal(hub.revision, COMMIT);
    assert.equal(hub.model_path, join(server.home, 'hub', `models--${HUB_ID.replace('/', '--')}`, 'snapshots', COMMIT));
  });

  test("/embed with a model name returns that transformer's embeddings", async () => {
    for (const model of ['bert-plain', 'bert-hub']) {
      const out = await ok<{ embeddings: number[][]; model: string }>('/embed', { sentences: LAMINOID, model });
      assert.equal(out.model, model);
      assert.equal(out.embeddings.length, 3);
      for (const v of out.embeddings) {
        assert.equal(v.length, TINY_BERT_HIDDEN);
        assert.ok(Math.abs(norm(v) - 1) < 1e-4);
      }
    }
    // Same weights, found two ways: the same vectors.
    const plain = await ok<{ embeddings: number[][] }>('/embed', { sentences: ['the cat sat'], model: 'bert-plain' });
    const hub = await ok<{ embeddings: number[][] }>('/embed', { sentences: ['the cat sat'], service: 'bert-hub' });
    assert.ok(maxDiff(plain.embeddings[0]!, hub.embeddings[0]!) < 1e-6);
  });

  test('a batch of sentences embeds like each sentence alone', async () => {
    const texts = ['the cat', 'what a wonderful day in paris today', 'hello', ...LAMINOID];
    const batch = await ok<{ embeddings: number[][] }>('/embed', { sentences: texts, model: 'bert-plain' });
    for (const [i, text] of texts.entries()) {
      const alone = await ok<{ embeddings: number[][] }>('/embed', { sentences: [text], model: 'bert-plain' });
      assert.ok(maxDiff(alone.embeddings[0]!, batch.embeddings[i]!) < 1e-4, `sentence ${i}`);
    }
  });
});

describe('the official openai client', () => {
  test('models.list includes the running services', async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    for (const name of ['embed', 'keyterms', 'ocr', ...Object.keys(created)]) assert.ok(ids.includes(name), `${name} in ${ids.join(', ')}`);
  });

  test('embeddings.create with a string and with an array, as floats', async () => {
    const single = await openai.embeddings.create({ model: 'bert-plain', input: 'the cat sat', encoding_format: 'float' });
    assert.equal(single.object, 'list');
    assert.equal(single.model, 'bert-plain');
    assert.equal(single.data.length, 1);
    assert.equal(single.data[0]!.embedding.length, TINY_BERT_HIDDEN);
    assert.equal(single.usage.prompt_tokens, 5, '[CLS] the cat sat [SEP]');
    assert.equal(single.usage.total_tokens, single.usage.prompt_tokens);

    const many = await openai.embeddings.create({ model: 'bert-plain', input: ['the cat sat', ...LAMINOID], encoding_format: 'float' });
    assert.deepEqual(many.data.map((d) => d.index), [0, 1, 2, 3]);
    assert.equal(many.usage.prompt_tokens, 29, '5 for "the cat sat", 24 for the three sentences');
    assert.ok(maxDiff(many.data[0]!.embedding, single.data[0]!.embedding) < 1e-4);
    const direct = await ok<{ embeddings: number[][] }>('/embed', { sentences: LAMINOID, model: 'bert-plain' });
    for (let i = 0; i < 3; i++) assert.ok(maxDiff(many.data[i + 1]!.embedding, direct.embeddings[i]!) < 1e-4);
  });

  test('base64 embeddings decode to the float ones', async () => {
    const input = ['the cat sat', 'hello world'];
    const floats = await openai.embeddings.create({ model: 'bert-hub', input, encoding_format: 'float' });
    // Without encoding_format the client asks for base64 itself and decodes it.
    const decoded = await openai.embeddings.create({ model: 'bert-hub', input });
    // Asked for explicitly, base64 comes back as the string.
    const raw = await openai.embeddings.create({ model: 'bert-hub', input, encoding_format: 'base64' });
    for (let i = 0; i < input.length; i++) {
      assert.ok(Array.isArray(decoded.data[i]!.embedding));
      assert.ok(maxDiff(decoded.data[i]!.embedding, floats.data[i]!.embedding) < 1e-6);
      const b64 = raw.data[i]!.embedding as unknown;
      assert.equal(typeof b64, 'string');
      const bytes = Buffer.from(b64 as string, 'base64');
      const vector = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      assert.ok(maxDiff(vector, floats.data[i]!.embedding) < 1e-6);
    }
  });

  test('dimensions keeps the first components, re-normalised', async () => {
    const full = await openai.embeddings.create({ model: 'bert-plain', input: 'the cat sat', encoding_format: 'float' });
    const cut = await openai.embeddings.create({ model: 'bert-plain', input: 'the cat sat', encoding_format: 'float', dimensions: 8 });
    const v = cut.data[0]!.embedding;
    assert.equal(v.length, 8);
    assert.ok(Math.abs(norm(v) - 1) < 1e-5);
    const head = full.data[0]!.embedding.slice(0, 8);
    assert.ok(maxDiff(v, head.map((x) => x / norm(head))) < 1e-5);
  });

  test('an unknown model makes the client throw an APIError with status 404', async () => {
    await assert.rejects(openai.embeddings.create({ model: 'no-such-model', input: 'x' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 404);
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.match(err.message, /no-such-model/);
      return true;
    });
    await assert.rejects(
      openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof OpenAI.APIError && err.status === 404,
    );
  });
});

describe('text generation', () => {
  const messages = [{ role: 'user' as const, content: 'Say hello' }];

  test('chat.completions.create, not streamed', async () => {
    const out = await openai.chat.completions.create({ model: 'gpt2', messages });
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.model, 'gpt2');
    assert.equal(out.choices.length, 1);
    assert.equal(out.choices[0]!.message.role, 'assistant');
    assert.equal(out.choices[0]!.message.content, CAT);
    assert.equal(out.choices[0]!.finish_reason, 'stop');
    assert.equal(out.usage!.prompt_tokens, 21, 'the chat template around "Say hello"');
    assert.equal(out.usage!.completion_tokens, 8, 'seven word tokens and <|endoftext|>');
    assert.equal(out.usage!.total_tokens, out.usage!.prompt_tokens + out.usage!.completion_tokens);
    // Content given as text parts is the same message.
    const parts = await openai.chat.completions.create({ model: 'gpt2', messages: [{ role: 'user', content: [{ type: 'text', text: 'Say ' }, { type: 'text', text: 'hello' }] }] });
    assert.equal(parts.choices[0]!.message.content, CAT);
    assert.equal(parts.usage!.prompt_tokens, out.usage!.prompt_tokens);
  });

  test('chat.completions.create with stream: true streams the same text', async () => {
    const plain = await openai.chat.completions.create({ model: 'gpt2', messages, max_tokens: 5 });
    // Chunks: the role, one per text token, and the finish reason.
    for (const [body, text, finish, count] of [[{}, CAT, 'stop', 9], [{ max_tokens: 5 }, plain.choices[0]!.message.content, 'length', 7]] as const) {
      const stream = await openai.chat.completions.create({ model: 'gpt2', messages, stream: true, ...body });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal(chunks.length, count, JSON.stringify(chunks.map((c) => c.choices[0]?.delta)));
      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt2' && c.id === chunks[0]!.id));
      assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), text);
      assert.ok(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null));
      assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, finish);
    }
  });

  test('completions.create: the fixture text, max_tokens truncation, stop strings', async () => {
    const full = await openai.completions.create({ model: 'gpt2', prompt: 'Hello' });
    assert.equal(full.object, 'text_completion');
    assert.equal(full.choices[0]!.text, CAT);
    assert.equal(full.choices[0]!.finish_reason, 'stop');
    assert.equal(full.usage!.prompt_tokens, 5);
    assert.equal(full.usage!.completion_tokens, 8);

    const cut = await openai.completions.create({ model: 'gpt2', prompt: 'Hello', max_tokens: 3 });
    assert.equal(cut.choices[0]!.text, ' the cat sat');
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.equal(cut.usage!.completion_tokens, 3);

    const stopped = await openai.completions.create({ model: 'gpt2', prompt: 'Hello', stop: 'sat on' });
    assert.equal(stopped.choices[0]!.text, ' the cat ');
    assert.equal(stopped.choices[0]!.finish_reason, 'stop');
    const earliest = await openai.completions.create({ model: 'gpt2', prompt: 'Hello', stop: ['mat', 'on a'] });
    assert.equal(earliest.choices[0]!.text, ' the cat sat ');

    const other = await openai.completions.create({ model: 'gpt2', prompt: 'Say hello' });
    assert.equal(other.choices[0]!.text, ' world!');
  });

  test('completions.create with stream: true', async () => {
    const stream = await openai.completions.create({ model: 'gpt2', prompt: 'Hello', stream: true, stop: ['mat'] });
    const chunks: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((c) => c.choices[0]!.text).join(''), ' the cat sat on a ');
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
  });

  test('TGI POST /generate', async () => {
    const out = await ok<{ generated_text: string; details: { finish_reason: string; generated_tokens: number } }>(
      '/generate', { inputs: 'Hello', parameters: { max_new_tokens: 20 } });
    assert.equal(out.generated_text, CAT);
    assert.equal(out.details.generated_tokens, 8);
    assert.equal(out.details.finish_reason, 'eos_token');
    const cut = await ok<typeof out>('/generate', { inputs: 'Hello', parameters: { max_new_tokens: 2 }, model: 'gpt2' });
    assert.equal(cut.generated_text, ' the cat');
    assert.equal(cut.details.finish_reason, 'length');
  });

  test('TGI POST /generate_stream: SSE frames join to the same text', async () => {
    const res = await postJson(`${server.url}/generate_stream`, { inputs: 'Hello', parameters: { max_new_tokens: 20 } });
    const frames = (await sseEvents(res)).map((d) => JSON.parse(d) as {
      index: number; token: { text: string; special: boolean }; generated_text: string | null; details: unknown;
    });
    assert.equal(frames.length, 8, 'seven text tokens and <|endoftext|>');
    const last = frames.at(-1)!;
    assert.equal(last.generated_text, CAT);
    assert.deepEqual(last.details, { finish_reason: 'eos_token', generated_tokens: 8 });
    const tokens = frames.slice(0, -1);
    assert.ok(tokens.every((f) => f.generated_text === null && !f.token.special));
    assert.deepEqual(frames.map((f) => f.index), frames.map((_, i) => i));
    assert.equal(tokens.map((f) => f.token.text).join(''), CAT);
    // "stream": true on /generate answers the same way.
    const viaFlag = (await sseEvents(await postJson(`${server.url}/generate`, { inputs: 'Hello', stream: true }))).map((d) => JSON.parse(d) as { generated_text: string | null });
    assert.equal(viaFlag.at(-1)!.generated_text, CAT);
  });
});

describe('POST /api/services/<name>/predict (Hugging Face Inference API parameters)', () => {
  test('text-classification: a string gives one result, a list gives a list; top_k', async () => {
    const one = await ok<LabelScore[]>('/api/services/sentiment/predict', { inputs: 'I love this great movie' });
    assert.equal(one.length, 1);
    assert.equal(one[0]!.label, 'POSITIVE');
    assert.ok(one[0]!.score > 0.5 && one[0]!.score <= 1);

    const list = await ok<LabelScore[][]>('/api/services/sentiment/predict', { inputs: ['I love it', 'what an awful boring film'] });
    assert.deepEqual(list.map((r) => r[0]!.label), ['POSITIVE', 'NEGATIVE']);

    const both = await ok<LabelScore[]>(`/api/services/${created.sentiment!.id}/predict`, { inputs: 'awful', parameters: { top_k: 2 } });
    assert.deepEqual(both.map((s) => s.label), ['NEGATIVE', 'POSITIVE']);
    assert.ok(Math.abs(both[0]!.score + both[1]!.score - 1) < 1e-5);
  });

  test('token-classification tags people, places and companies', async () => {
    const text = 'John lives in Paris and works at Google';
    const one = await ok<TokenEntity[]>('/api/services/ner/predict', { inputs: text });
    assert.deepEqual(one.map((e) => [e.entity, e.word]), [['B-PER', 'john'], ['B-LOC', 'paris'], ['B-ORG', 'google']]);
    assert.deepEqual(one.map((e) => [e.start, e.end]), [[0, 4], [14, 19], [33, 39]]);
    for (const e of one) assert.equal(text.slice(e.start, e.end).toLowerCase(), e.word);
    const list = await ok<TokenEntity[][]>('/api/services/ner/predict', { inputs: [text, 'nothing to see here'] });
    assert.equal(list.length, 2);
    assert.deepEqual(list[0]!.map((e) => e.entity), ['B-PER', 'B-LOC', 'B-ORG']);
    assert.deepEqual(list[1], []);
  });

  test('zero-shot-classification with candidate_labels and multi_label', async () => {
    const candidate_labels = ['politics', 'sports', 'food', 'technology'];
    const one = await ok<ZeroShot>('/api/services/zeroshot/predict', { inputs: 'I love playing football', parameters: { candidate_labels } });
    assert.equal(one.labels[0], 'sports');
    assert.deepEqual([...one.labels].sort(), [...candidate_labels].sort());
    assert.ok(Math.abs(one.scores.reduce((a, b) => a + b, 0) - 1) < 1e-5);

    const list = await ok<ZeroShot[]>('/api/services/zeroshot/predict', {
      inputs: ['the government lost the vote', 'pizza for dinner'], parameters: { candidate_labels },
    });
    assert.deepEqual(list.map((r) => r.labels[0]), ['politics', 'food']);

    const multi = await ok<ZeroShot>('/api/services/zeroshot/predict', {
      inputs: 'football and pizza', parameters: { candidate_labels, multi_label: true },
    });
    assert.deepEqual(multi.labels.slice(0, 2).sort(), ['food', 'sports']);
    assert.ok(multi.scores[0]! > 0.9 && multi.scores[1]! > 0.9 && multi.scores[2]! < 0.5, JSON.stringify(multi));

    const template = await ok<ZeroShot>('/api/services/zeroshot/predict', {
      inputs: 'my new phone', parameters: { candidate_labels, hypothesis_template: 'It is about {}.' },
    });
    assert.equal(template.labels[0], 'technology');
  });

  test('zero-shot-classification without candidate_labels is a 400', async () => {
    const res = await post('/api/services/zeroshot/predict', { inputs: 'I love playing football' });
    assert.equal(res.status, 400);
    assert.match(errorOf(res.json), /candidate_labels/);
  });

  test('feature-extraction and text-generation answer too', async () => {
    const vector = await ok<number[]>('/api/services/bert-plain/predict', { inputs: 'the cat sat' });
    assert.equal(vector.length, TINY_BERT_HIDDEN);
    const vectors = await ok<number[][]>('/api/services/bert-plain/predict', { inputs: ['the cat sat', 'hello'] });
    assert.ok(maxDiff(vectors[0]!, vector) < 1e-4);
    const generated = await ok<{ generated_text: string; finish_reason: string }>('/api/services/gpt2/predict', { inputs: 'Hello', parameters: { max_new_tokens: 20 } });
    assert.deepEqual(generated, { generated_text: CAT, finish_reason: 'stop' });
  });
});

describe('/services/<name>/... proxy routes', () => {
  test('/services/<name>/embed answers like /embed with that model', async () => {
    const direct = await ok<{ embeddings: number[][]; model: string }>('/embed', { sentences: LAMINOID, model: 'bert-hub' });
    const proxied = await ok<{ embeddings: number[][]; model: string }>('/services/bert-hub/embed', { sentences: LAMINOID });
    assert.equal(proxied.model, 'bert-hub');
    proxied.embeddings.forEach((v, i) => assert.ok(maxDiff(v, direct.embeddings[i]!) < 1e-6));
    // The path names the service, whatever the body says.
    const overridden = await ok<{ model: string }>(`/services/${created['bert-hub']!.id}/embed`, { sentences: ['x'], model: 'embed', service: 'embed' });
    assert.equal(overridden.model, 'bert-hub');
  });

  test('/services/<name>/generate answers like /generate', async () => {
    const body = { inputs: 'Hello', parameters: { max_new_tokens: 20 } };
    const direct = await ok<unknown>('/generate', body);
    assert.deepEqual(await ok<unknown>('/services/gpt2/generate', body), direct);
    const frames = (await sseEvents(await postJson(`${server.url}/services/gpt2/generate_stream`, body)))
      .map((d) => JSON.parse(d) as { token: { text: string }; generated_text: string | null });
    assert.equal(frames.at(-1)!.generated_text, CAT);
    assert.equal(frames.slice(0, -1).map((f) => f.token.text).join(''), CAT);
  });

  test('/services/<name>/v1/embeddings and errors of the routed request pass through', async () => {
    const out = await ok<{ data: Array<{ embedding: number[] }>; model: string }>('/services/bert-plain/v1/embeddings', { input: 'the cat sat' });
    assert.equal(out.model, 'bert-plain');
    assert.equal(out.data[0]!.embedding.length, TINY_BERT_HIDDEN);
    const wrongTask = await post('/services/gpt2/embed', { sentences: ['x'] });
    assert.equal(wrongTask.status, 400);
    // Only the service's own task routes are forwarded.
    assert.match(errorOf(wrongTask.json), /Route 'embed' is not a route of service 'gpt2' \(text-generation\); use one of: generate, generate_stream/);
    assert.equal((await post('/services/no-such-service/embed', { sentences: ['x'] })).status, 404);
  });
});

describe('stopping and deleting a service', () => {
  test('a stopped service answers 503 with its state, leaves /v1/models, and can be deleted', async () => {
    const res = await postJson(`${server.url}/api/services?wait=true`, { name: 'bert-stop', task: 'embeddings', model: created['bert-plain']!.model_path });
    const view = await res.json() as ServiceView;
    assert.equal(res.status, 201);
    assert.equal(view.status, 'RUNNING', view.reason ?? '');
    assert.equal((await ok<{ embeddings: number[][] }>('/embed', { sentences: ['hi'], model: 'bert-stop' })).embeddings[0]!.length, TINY_BERT_HIDDEN);

    const stopped = await ok<ServiceView>('/api/services/bert-stop/stop', {});
    assert.equal(stopped.status, 'STOPPED');
    assert.equal((await (await fetch(`${server.url}/api/services/bert-stop`)).json() as ServiceView).status, 'STOPPED');

    for (const [path, body] of [
      ['/embed', { sentences: ['hi'], model: 'bert-stop' }],
      ['/api/services/bert-stop/predict', { inputs: 'hi' }],
      ['/services/bert-stop/embed', { sentences: ['hi'] }],
      ['/v1/embeddings', { model: 'bert-stop', input: 'hi' }],
    ] as const) {
      const r = await post(path, body);
      assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.json)}`);
      assert.match(errorOf(r.json), /bert-stop' is STOPPED/, path);
    }
    await assert.rejects(openai.embeddings.create({ model: 'bert-stop', input: 'hi' }), (err: unknown) => err instanceof OpenAI.APIError && err.status === 503);
    assert.ok(!(await openai.models.list()).data.some((m) => m.id === 'bert-stop'));

    const del = await fetch(`${server.url}/api/services/bert-stop`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), { deleted: view.id, name: 'bert-stop' });
    assert.equal((await fetch(`${server.url}/api/services/bert-stop`)).status, 404);
    assert.equal((await post('/embed', { sentences: ['hi'], model: 'bert-stop' })).status, 404);
    // The other services are untouched.
    assert.equal((await ok<{ embeddings: number[][] }>('/embed', { sentences: ['hi'], model: 'bert-plain' })).embeddings.length, 1);
  });
});

describe('dynamic batching of text requests', () => {
  test('20 concurrent /embed requests all answer correctly, sharing batches', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `${['the cat', 'my new phone', 'john lives in paris', 'I love football'][i % 4]} ${i}`);
    const alone: number[][] = [];
    for (const text of texts) alone.push((await ok<{ embeddings: number[][] }>('/embed', { sentences: [text], model: 'bert-plain' })).embeddings[0]!);

    const start = await batchHistogram('bert-plain');
    const answers = await Promise.all(texts.map((text) => ok<{ embeddings: number[][]; model: string }>('/embed', { sentences: [text], model: 'bert-plain' })));
    const end = await batchHistogram('bert-plain');

    answers.forEach((a, i) => {
      assert.equal(a.model, 'bert-plain');
      assert.equal(a.embeddings.length, 1);
      assert.ok(maxDiff(a.embeddings[0]!, alone[i]!) < 1e-4, `request ${i} got another request's answer`);
    });
    const sum = end.sum - start.sum;
    const count = end.count - start.count;
    assert.equal(sum, 20, 'every row ran exactly once');
    // How the 20 are split into batches depends on when each arrives; at least two shared one.
    assert.ok(count >= 1 && sum > count, `batches: ${count} for ${sum} rows`);
  });
});
