/**
 * The Ollama API (src/gateway/ollama) against a real gateway with auth on, the
 * tiny GPT-2 (test/fixtures/transformers) as a text-generation service and the
 * built-in `embed` service, through the real clients: the `ollama` npm package,
 * LangChain's ChatOllama and OllamaEmbeddings, and LangChain's OpenAI classes
 * against Corral's /v1 routes.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { Ollama } from 'ollama';
import { writeHfCacheSnapshot, writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { waitFor } from '../helpers/scale-out.js';
import type { TestServer } from '../helpers/test-server.js';
import { bearer, createKey, startAuthServer } from '../auth/auth-helpers.js';

/** What the tiny GPT-2 says after "Hello", and in a chat after "Say hello", under greedy decoding. */
const CAT = ' the cat sat on a mat.';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

let server: TestServer & { adminKey: string };
let ollama: Ollama;
let gpt2Dir: string;

interface ServiceView { id: string; name: string; created_at: string; status: string }

/** A JSON request with the admin key (or `key`); returns the status and parsed body. */
async function call(method: string, path: string, body?: unknown, key: string | null = server.adminKey) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key === null ? {} : bearer(key)) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: text ? JSON.parse(text) as Record<string, unknown> : undefined, text };
}

/** The built-in embed service's vectors for `texts`, from Laminoid's /embed. */
async function laminoidEmbeddings(texts: string[]): Promise<number[][]> {
  const { status, json } = await call('POST', '/embed', { sentences: texts, service: 'embed' });
  assert.equal(status, 200);
  return json!.embeddings as number[][];
}

/** The rejection of a client call: the ollama client's ResponseError carries `error` and `status_code`. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { status_code?: number; error?: string; message: string };
    return { status: e.status_code ?? -1, message: e.error ?? e.message };
  }
  assert.fail('the call succeeded');
}

const durations = ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'] as const;
function assertDurations(out: Record<string, unknown>) {
  for (const d of durations) assert.ok(Number.isInteger(out[d]) && (out[d] as number) >= 0, `${d} is a whole number of nanoseconds: ${out[d]}`);
  assert.ok((out.total_duration as number) >= (out.prompt_eval_duration as number) + (out.eval_duration as number), 'the phases lie within the total');
}

before(async () => {
  server = await startAuthServer({ workers: 1 });
  ollama = new Ollama({ host: server.url, headers: bearer(server.adminKey) });
  gpt2Dir = writeTinyGpt2(join(server.home, 'models', 'gpt2'));
  const { status, json } = await call('POST', '/api/services?wait=true', { name: 'gpt2', task: 'text-generation', model: gpt2Dir });
  assert.equal(status, 201, JSON.stringify(json));
  assert.equal(json!.status, 'RUNNING', JSON.stringify(json));
});
after(async () => { await server?.close(); });

describe('models: tags, show, ps, version', () => {
  test('GET /api/tags lists the running chat and embedding services with size, family and time', async () => {
    const services = (await call('GET', '/api/services')).json as unknown as ServiceView[];
    const createdAt = (name: string) => services.find((s) => s.name === name)!.created_at;
    const { models } = await ollama.list();
    // keyterms and ocr are services, but not Ollama models.
    assert.deepEqual(models.map((m) => m.name), ['embed:latest', 'gpt2:latest']);
    const [embed, gpt2] = models as unknown as Array<Record<string, unknown> & { details: Record<string, unknown> }>;
    assert.equal(gpt2!.model, 'gpt2:latest');
    assert.equal(gpt2!.size, statSync(join(gpt2Dir, 'onnx', 'model.onnx')).size);
    assert.equal(gpt2!.modified_at, createdAt('gpt2'));
    assert.deepEqual(gpt2!.details, { parent_model: '', format: 'onnx', family: 'gpt2', families: ['gpt2'], parameter_size: '', quantization_level: 'fp32' });
    assert.match(gpt2!.digest as string, /^[0-9a-f]{64}$/);
    assert.equal(embed!.size, 0, 'the built-in embedder has no model file');
    assert.equal(embed!.modified_at, createdAt('embed'));
    assert.equal(embed!.details.family, 'embed');
  });

  test('POST /api/show: details, model info from config.json, capabilities', async () => {
    const gpt2 = await ollama.show({ model: 'gpt2:latest' });
    assert.deepEqual(gpt2.capabilities, ['completion']);
    assert.equal(gpt2.details.family, 'gpt2');
    assert.deepEqual(gpt2.model_info, { 'general.architecture': 'gpt2', 'general.basename': 'gpt2', 'gpt2.context_length': 128, 'gpt2.embedding_length': 16 });
    assert.equal(gpt2.template, '', 'the fixture has no chat template');
    const embed = await ollama.show({ model: 'embed' });
    assert.deepEqual(embed.capabilities, ['embedding']);
    assert.deepEqual(await failure(ollama.show({ model: 'llama3' })), { status: 404, message: "model 'llama3' not found; GET /api/tags lists the models, POST /api/pull starts one" });
    assert.deepEqual(await failure(ollama.show({ model: 'keyterms' })), {
      status: 400, message: "model 'keyterms' is a keyterms service, not text-generation or feature-extraction; GET /api/tags lists the models this API serves",
    });
  });

  test('GET /api/ps lists the models a worker holds, with their size', async () => {
    // Workers report what they hold every 2 s; the start-up probe loaded the GPT-2 (and the tests since use it).
    const ps = await waitFor('the GPT-2 to be reported loaded', async () => {
      const out = await ollama.ps();
      return out.models.some((m) => m.name === 'gpt2:latest') ? out : undefined;
    }, 30_000);
    const gpt2 = ps.models.find((m) => m.name === 'gpt2:latest') as unknown as Record<string, unknown>;
    assert.equal(gpt2.size, statSync(join(gpt2Dir, 'onnx', 'model.onnx')).size);
    assert.equal(gpt2.size_vram, 0);
    assert.equal(gpt2.context_length, 128);
    assert.ok(!ps.models.some((m) => m.name === 'keyterms:latest'));
  });

  test('GET /api/version is Corral\'s version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual(await ollama.version(), { version });
  });
});

describe('embeddings', () => {
  const texts = ['The cat sat on the mat.', 'Stock markets fell sharply today.'];

  test('POST /api/embed: the same vectors as /embed, one text or many', async () => {
    const expected = await laminoidEmbeddings(texts);
    const many = await ollama.embed({ model: 'embed', input: texts });
    assert.equal(many.model, 'embed');
    assert.deepEqual(many.embeddings, expected);
    assert.ok(Number.isInteger(many.total_duration) && many.total_duration >= 0);
    assert.equal(many.load_duration, 0);
    assert.ok(Number.isInteger(many.prompt_eval_count) && many.prompt_eval_count > 0);
    const one = await ollama.embed({ model: 'embed:latest', input: texts[1]! });
    assert.equal(one.model, 'embed:latest', 'the model is echoed as sent');
    assert.deepEqual(one.embeddings, [expected[1]]);
  });

  test('POST /api/embeddings (the older route): one vector', async () => {
    const [expected] = await laminoidEmbeddings([texts[0]!]);
    assert.deepEqual(await ollama.embeddings({ model: 'embed', prompt: texts[0]! }), { embedding: expected });
    assert.deepEqual(await ollama.embeddings({ model: 'embed', prompt: '' }), { embedding: [] }, 'as Ollama answers an empty prompt');
  });

  test('bad input is 400 with a message; a chat model is not an embedding model', async () => {
    assert.deepEqual(await call('POST', '/api/embed', { model: 'embed', input: [] }).then((r) => [r.status, r.json]), [400, { error: '"input" is empty; send at least one string.' }]);
    assert.deepEqual(await call('POST', '/api/embed', { model: 'embed', input: ['a', 7] }).then((r) => [r.status, r.json]), [400, { error: '"input"[1] must be a string, got number.' }]);
    assert.deepEqual(await call('POST', '/api/embed', { input: 'a' }).then((r) => [r.status, r.json]), [400, { error: 'model is required' }]);
    assert.deepEqual(await failure(ollama.embed({ model: 'gpt2', input: 'a' })), {
      status: 400, message: "model 'gpt2' is a text-generation service, not feature-extraction; GET /api/tags lists the models this API serves",
    });
    assert.deepEqual(await failure(ollama.embeddings({ model: 'nope', prompt: 'a' })), { status: 404, message: "model 'nope' not found; GET /api/tags lists the models, POST /api/pull starts one" });
  });
});

describe('generation', () => {
  test('POST /api/generate, not streamed: the text, done_reason, token counts, durations', async () => {
    const out = await ollama.generate({ model: 'gpt2', prompt: 'Hello', stream: false }) as unknown as Record<string, unknown>;
    assert.equal(out.model, 'gpt2');
    assert.equal(out.response, CAT);
    assert.equal(out.done, true);
    assert.equal(out.done_reason, 'stop', 'ended on <|endoftext|>');
    assert.equal(out.prompt_eval_count, 5, '"Hello" is five byte tokens');
    assert.equal(out.eval_count, 8, 'seven word tokens and <|endoftext|>');
    assert.ok(!Number.isNaN(Date.parse(out.created_at as string)));
    assertDurations(out);
  });

  test('options: num_predict, stop, seed', async () => {
    const cut = await ollama.generate({ model: 'gpt2', prompt: 'Hello', options: { num_predict: 3 } });
    assert.deepEqual([cut.response, cut.done_reason, cut.eval_count], [' the cat sat', 'length', 3]);
    const stopped = await ollama.generate({ model: 'gpt2', prompt: 'Hello', options: { stop: ['sat on'] } });
    assert.deepEqual([stopped.response, stopped.done_reason], [' the cat ', 'stop']);
    // " tick" → " tock" → " tick" … never ends: num_predict is what stops it.
    const ticking = await ollama.generate({ model: 'gpt2', prompt: 'Hello tick', options: { num_predict: 6 } });
    assert.deepEqual([ticking.response, ticking.done_reason, ticking.eval_count], [' tock tick tock tick tock tick', 'length', 6]);

    // A high temperature makes the fixture's choice random; a seed makes it repeatable.
    const sampled = async (seed: number) => {
      const out = await ollama.generate({ model: 'gpt2', prompt: 'Hello', options: { temperature: 5, seed, num_predict: 12 } });
      return [out.response, out.done_reason, out.eval_count];
    };
    const first = await sampled(7);
    assert.deepEqual(await sampled(7), first);
    assert.notDeepEqual(await sampled(8), first);
    assert.notEqual(first[0], ' the cat sat on a mat.', 'sampled, not greedy');
  });

  test('POST /api/generate streams NDJSON by default; the pieces join to the same text', async () => {
    // As `curl -d` sends it: a form Content-Type on a JSON body, which Ollama reads as JSON.
    const res = await fetch(`${server.url}/api/generate`, {
      method: 'POST', headers: { ...bearer(server.adminKey), 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify({ model: 'gpt2', prompt: 'Hello' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text()).split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    const frames = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(frames.length, 8, 'seven text pieces and the summary');
    assert.ok(frames.slice(0, -1).every((f) => f.done === false && f.model === 'gpt2' && (f.response as string).length > 0 && !('eval_count' in f)));
    assert.equal(frames.map((f) => f.response).join(''), CAT);
    const last = frames.at(-1)!;
    assert.deepEqual([last.response, last.done, last.done_reason, last.eval_count, last.prompt_eval_count], ['', true, 'stop', 8, 5]);
    assertDurations(last);

    const pieces: string[] = [];
    let done: Record<string, unknown> | undefined;
    for await (const part of await ollama.generate({ model: 'gpt2', prompt: 'Hello', stream: true, options: { num_predict: 4 } })) {
      if (part.done) done = part as unknown as Record<string, unknown>;
      else pieces.push(part.response ?? '');
    }
    assert.equal(pieces.join(''), ' the cat sat on');
    assert.deepEqual([done!.done_reason, done!.eval_count], ['length', 4]);
  });

  test('an empty prompt only loads the model (done_reason "load"), as in Ollama', async () => {
    const { status, json } = await call('POST', '/api/generate', { model: 'gpt2', stream: false });
    assert.equal(status, 200);
    assert.deepEqual({ ...json, created_at: undefined }, { model: 'gpt2', created_at: undefined, response: '', done: true, done_reason: 'load' });
  });

  test('POST /api/chat, not streamed and streamed', async () => {
    const messages = [{ role: 'user', content: 'Say hello' }];
    const out = await ollama.chat({ model: 'gpt2', messages }) as unknown as Record<string, unknown>;
    assert.deepEqual(out.message, { role: 'assistant', content: CAT });
    assert.deepEqual([out.done, out.done_reason, out.prompt_eval_count, out.eval_count], [true, 'stop', 21, 8]);
    assertDurations(out);

    const pieces: string[] = [];
    let last: Record<string, unknown> | undefined;
    for await (const part of await ollama.chat({ model: 'gpt2', messages, stream: true, options: { num_predict: 2 } })) {
      assert.equal(part.message.role, 'assistant');
      pieces.push(part.message.content);
      last = part as unknown as Record<string, unknown>;
    }
    assert.equal(pieces.join(''), ' the cat');
    assert.deepEqual([last!.done, last!.done_reason, last!.eval_count], [true, 'length', 2]);
  });

  test('bad input is 400 with a message; an unknown model 404', async () => {
    const bad = async (path: string, body: unknown) => call('POST', path, body).then((r) => [r.status, r.json]);
    assert.deepEqual(await bad('/api/generate', { model: 'gpt2', prompt: 'Hi', options: { temperature: -1 } }), [400, { error: 'Invalid request: body/options/temperature must be >= 0' }]);
    assert.deepEqual(await bad('/api/generate', { model: 'gpt2', prompt: 'Hi', options: { num_predict: 0 } }), [400, { error: "options.num_predict must be at least 1 (or -1 for the service's default length)" }]);
    assert.deepEqual(await bad('/api/generate', { model: 'gpt2', prompt: 'Hi', format: 'json' }), [400, { error: "format (JSON output) is not supported by Corral's text-generation services" }]);
    assert.deepEqual(await bad('/api/generate', { prompt: 'Hi' }), [400, { error: 'model is required' }]);
    assert.deepEqual(await bad('/api/chat', { model: 'gpt2', messages: [{ role: 'tool', content: 'x' }] }), [400, { error: "messages[0].role is 'tool'; Corral takes system, user and assistant messages" }]);
    assert.deepEqual(await bad('/api/chat', { model: 'gpt2', messages: [{ role: 'user' }] }), [400, { error: "Invalid request: body/messages/0 must have required property 'content'" }]);
    assert.deepEqual(await bad('/api/chat', { model: 'embed', messages: [{ role: 'user', content: 'x' }] }), [400, {
      error: "model 'embed' is a feature-extraction service, not text-generation; GET /api/tags lists the models this API serves",
    }]);
    assert.deepEqual(await failure(ollama.chat({ model: 'mistral', messages: [{ role: 'user', content: 'x' }] })), {
      status: 404, message: "model 'mistral' not found; GET /api/tags lists the models, POST /api/pull starts one",
    });
    // Streamed requests are refused before the stream opens, with the same status.
    assert.deepEqual(await failure(ollama.generate({ model: 'mistral', prompt: 'x', stream: true })), {
      status: 404, message: "model 'mistral' not found; GET /api/tags lists the models, POST /api/pull starts one",
    });
  });
});

describe('LangChain', () => {
  test('ChatOllama: invoke (with token usage) and stream', async () => {
    const chat = new ChatOllama({ baseUrl: server.url, model: 'gpt2', headers: bearer(server.adminKey) });
    const reply = await chat.invoke('Say hello');
    assert.equal(reply.content, CAT);
    const usage = reply.usage_metadata!;
    assert.deepEqual([usage.input_tokens, usage.output_tokens, usage.total_tokens], [21, 8, 29]);
    const pieces: string[] = [];
    for await (const chunk of await new ChatOllama({ baseUrl: server.url, model: 'gpt2', numPredict: 3, headers: bearer(server.adminKey) }).stream('Say hello')) {
      pieces.push(chunk.content as string);
    }
    assert.equal(pieces.join(''), ' the cat sat');
  });

  test('OllamaEmbeddings: the same vectors as /embed', async () => {
    const texts = ['The cat sat on the mat.', 'Dogs bark at night.'];
    const expected = await laminoidEmbeddings(texts);
    const embeddings = new OllamaEmbeddings({ baseUrl: server.url, model: 'embed', headers: bearer(server.adminKey) });
    assert.deepEqual(await embeddings.embedDocuments(texts), expected);
    assert.deepEqual(await embeddings.embedQuery(texts[0]!), expected[0]);
  });

  test('ChatOpenAI and OpenAIEmbeddings against /v1', async () => {
    const configuration = { baseURL: `${server.url}/v1` };
    const chat = new ChatOpenAI({ model: 'gpt2', apiKey: server.adminKey, configuration, maxRetries: 0 });
    const reply = await chat.invoke('Say hello');
    assert.equal(reply.content, CAT);
    assert.equal(reply.usage_metadata?.output_tokens, 8);
    const pieces: string[] = [];
    for await (const chunk of await new ChatOpenAI({ model: 'gpt2', apiKey: server.adminKey, configuration, maxTokens: 3 }).stream('Say hello')) {
      pieces.push(chunk.content as string);
    }
    assert.equal(pieces.join(''), ' the cat sat');
    const texts = ['The cat sat on the mat.', 'Dogs bark at night.'];
    const expected = await laminoidEmbeddings(texts);
    const embeddings = new OpenAIEmbeddings({ model: 'embed', apiKey: server.adminKey, configuration });
    const got = await embeddings.embedDocuments(texts);
    // float32 through base64 or JSON: the same numbers.
    assert.deepEqual(got.map((v) => Array.from(Float32Array.from(v))), expected.map((v) => Array.from(Float32Array.from(v))));
  });
});

describe('pull and delete', () => {
  test('a model directory (admin) is pulled into a running service, used, and deleted', async () => {
    const dir = writeTinyGpt2(join(server.home, 'models', 'pulled-gpt2'));
    assert.deepEqual(await ollama.pull({ model: dir }), { status: 'success' });
    assert.ok((await ollama.list()).models.some((m) => m.name === 'pulled-gpt2:latest'));
    // The path itself names the model too.
    assert.equal((await ollama.generate({ model: dir, prompt: 'Hello' })).response, CAT);
    // Pulling again is a no-op, streamed this time.
    const statuses: string[] = [];
    for await (const p of await ollama.pull({ model: dir, stream: true })) statuses.push(p.status);
    assert.deepEqual(statuses, ["starting service 'pulled-gpt2'", 'success']);

    assert.deepEqual(await ollama.delete({ model: 'pulled-gpt2' }), { status: 'success' });
    assert.ok(!(await ollama.list()).models.some((m) => m.name === 'pulled-gpt2:latest'));
    assert.equal((await call('GET', '/api/services/pulled-gpt2')).status, 404);
    assert.deepEqual(await failure(ollama.delete({ model: 'pulled-gpt2' })), {
      status: 404, message: "model 'pulled-gpt2' not found; GET /api/tags lists the models, POST /api/pull starts one",
    });
  });

  test('a hub id from the local cache, by a services:write key; its task from config.json', async () => {
    writeHfCacheSnapshot(join(server.home, 'hub'), 'tiny-org/tiny-bert', COMMIT, writeTinyBert(join(server.home, 'models', 'bert'), { task: 'feature-extraction' }));
    const writer = await createKey(server.url, server.adminKey, { name: 'ollama-writer', scopes: ['read', 'infer', 'services:write'] });
    const client = new Ollama({ host: server.url, headers: bearer(writer.key) });
    assert.deepEqual(await client.pull({ model: 'tiny-org/tiny-bert' }), { status: 'success' });
    const service = (await call('GET', '/api/services/tiny-bert')).json!;
    assert.deepEqual([service.task, service.status, service.revision], ['feature-extraction', 'RUNNING', COMMIT]);
    // The hub id names the service it became.
    const byId = await client.embed({ model: 'tiny-org/tiny-bert', input: 'hello world' });
    const byName = await client.embed({ model: 'tiny-bert', input: 'hello world' });
    assert.equal(byId.embeddings[0]!.length, 32);
    assert.deepEqual(byId.embeddings, byName.embeddings);

    // A local path needs admin; an uncached hub id with remote models off is refused.
    const dir = writeTinyGpt2(join(server.home, 'models', 'other-gpt2'));
    assert.deepEqual(await failure(client.pull({ model: dir })), {
      status: 403, message: `Serving the local path '${dir}' (not a Hugging Face id like org/name) needs the 'admin' scope, which API key 'ollama-writer' does not have.`,
    });
    const missing = await failure(client.pull({ model: 'nobody/nothing' }));
    assert.equal(missing.status, 400);
    assert.match(missing.message, /nobody\/nothing/);
    assert.deepEqual(await client.delete({ model: 'tiny-org/tiny-bert' }), { status: 'success' });
    assert.equal((await call('GET', '/api/services/tiny-bert')).status, 404);
  });
});

describe('auth', () => {
  test('401 without a key, 403 without the scope or the model, in Ollama\'s envelope', async () => {
    assert.deepEqual(await failure(new Ollama({ host: server.url }).list()), {
      status: 401, message: (await call('GET', '/api/tags', undefined, null)).json!.error as string,
    });
    const anonymous = await call('POST', '/api/chat', { model: 'gpt2', messages: [{ role: 'user', content: 'hi' }] }, null);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(Object.keys(anonymous.json!), ['error']);

    const reader = await createKey(server.url, server.adminKey, { name: 'ollama-reader', scopes: ['read'] });
    const asReader = new Ollama({ host: server.url, headers: bearer(reader.key) });
    assert.equal((await asReader.list()).models.length, 2);
    assert.deepEqual(await failure(asReader.generate({ model: 'gpt2', prompt: 'Hello' })), {
      status: 403, message: "API key 'ollama-reader' lacks the 'infer' scope this route needs.",
    });
    assert.deepEqual(await failure(asReader.pull({ model: 'tiny-org/tiny-bert' })), {
      status: 403, message: "API key 'ollama-reader' lacks the 'services:write' scope this route needs.",
    });

    const embedOnly = await createKey(server.url, server.adminKey, { name: 'ollama-embed-only', scopes: ['read', 'infer'], models: ['embed'] });
    const asEmbedOnly = new Ollama({ host: server.url, headers: bearer(embedOnly.key) });
    assert.deepEqual((await asEmbedOnly.list()).models.map((m) => m.name), ['embed:latest']);
    const refused = await failure(asEmbedOnly.chat({ model: 'gpt2', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(refused.status, 403);
    assert.match(refused.message, /gpt2/);
  });
});
