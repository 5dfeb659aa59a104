/**
 * TGI's finish_reason as real TGI words it, recorded by the runtime: `length`
 * when max_new_tokens ran out, `eos_token` at end-of-sequence, `stop_sequence`
 * at a stop string; on /generate and in /generate_stream's last frame. The
 * tiny GPT-2 fixture decodes greedily: "Hello" → " the cat sat on a mat." <eos>,
 * "tick" → " tock tick tock ..." without end.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeTinyGpt2 } from '../fixtures/transformers/index.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer({ workers: 1 });
  const res = await postJson(`${server.url}/api/services?wait=true`, { name: 'gpt2', task: 'text-generation', model: writeTinyGpt2(join(server.home, 'models', 'gpt2')) });
  assert.equal(res.status, 201, await res.text());
});
after(async () => { await server?.close(); });

interface Details { finish_reason: string; generated_tokens: number }

async function generate(inputs: string, parameters: Record<string, unknown>): Promise<{ generated_text: string; details: Details }> {
  const res = await postJson(`${server.url}/generate`, { inputs, parameters, model: 'gpt2' });
  const body = await res.json() as { generated_text: string; details: Details };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** The last frame's details of /generate_stream. */
async function streamedDetails(inputs: string, parameters: Record<string, unknown>): Promise<Details> {
  const res = await postJson(`${server.url}/generate_stream`, { inputs, parameters, model: 'gpt2' });
  assert.equal(res.status, 200);
  const frames = (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { details: Details | null });
  return frames.at(-1)!.details!;
}

const cases: Array<[string, string, Record<string, unknown>, Details]> = [
  ['end of sequence', 'Hello', { max_new_tokens: 20 }, { finish_reason: 'eos_token', generated_tokens: 8 }],
  ['max_new_tokens', 'Hello', { max_new_tokens: 2 }, { finish_reason: 'length', generated_tokens: 2 }],
  ['a cycle that never ends', 'tick', { max_new_tokens: 5 }, { finish_reason: 'length', generated_tokens: 5 }],
  ['a stop string', 'Hello', { max_new_tokens: 20, stop: ['sat'] }, { finish_reason: 'stop_sequence', generated_tokens: 3 }],
  // TGI checks the token budget first: a stop string on the last allowed token is a length stop.
  ['a stop string on the last token', 'Hello', { max_new_tokens: 3, stop: ['sat'] }, { finish_reason: 'length', generated_tokens: 3 }],
];

for (const [what, inputs, parameters, expected] of cases) {
  test(`${what}: ${expected.finish_reason}`, async () => {
    const out = await generate(inputs, parameters);
    assert.deepEqual(out.details, expected);
    assert.deepEqual(await streamedDetails(inputs, parameters), expected, 'the stream says the same');
  });
}

test('OpenAI keeps its own words for the same ends', async () => {
  const body = (max: number, stop?: string[]) => ({ model: 'gpt2', prompt: 'Hello', max_tokens: max, ...(stop ? { stop } : {}) });
  const reason = async (max: number, stop?: string[]) =>
    ((await (await postJson(`${server.url}/v1/completions`, body(max, stop))).json()) as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason;
  assert.equal(await reason(20), 'stop');
  assert.equal(await reason(2), 'length');
  assert.equal(await reason(20, ['sat']), 'stop');
});
