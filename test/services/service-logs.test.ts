/**
 * GET /api/services/<id>/logs on a real gateway (auth on, one worker process):
 * a local service's state changes, what its worker process prints (onnxruntime's
 * own warning about a model with an unused weight), the tail, and following it
 * as server-sent events until the client leaves or the service is deleted.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bearer, createKey } from '../auth/auth-helpers.js';
import { buildModel, tensor } from '../fixtures/onnx-graph.js';
import { writeTinyBert } from '../fixtures/transformers/index.js';
import { irisBody, waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

interface LogLine { t: number; stream: string; text: string }

let server: TestServer & { adminKey: string };
let bert: string;
/** onnxruntime prints this to stderr when it loads noisy.onnx. */
const WARNING = /Removing initializer 'unused_weight'\. It is not used by any node/;

before(async () => {
  server = await startTestServer({ workers: 1 }, { CORRAL_AUTH: 'on' }) as TestServer & { adminKey: string };
  bert = join(server.home, 'tiny-bert');
  await writeTinyBert(bert, { task: 'feature-extraction' });
  const res = await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey);
  assert.equal(res.status, 201, await res.text());
});
after(async () => { await server?.close(); });

/** A model onnxruntime warns about when it loads it (to stderr): one weight is used by no node. */
function writeNoisyModel(): string {
  const noisy = join(server.home, 'noisy.onnx');
  writeFileSync(noisy, buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
    outputs: [{ name: 'doubled', type: 'float32', shape: ['batch', 2] }],
    initializers: [tensor('two', [], Float32Array.of(2)), tensor('unused_weight', [3], Float32Array.of(1, 2, 3))],
    nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['doubled'] }],
  }));
  return noisy;
}

const logsUrl = (id: string, query = '') => `${server.url}/api/services/${encodeURIComponent(id)}/logs${query}`;

async function logs(id: string, query = '', key = server.adminKey): Promise<LogLine[]> {
  const res = await fetch(logsUrl(id, query), { headers: bearer(key) });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { lines: LogLine[] }).lines;
}

const texts = (lines: LogLine[]) => lines.map((l) => `${l.stream}: ${l.text}`);

async function createBert(name: string): Promise<{ id: string; status: string }> {
  const res = await postJson(`${server.url}/api/services?wait=true`, { name, task: 'feature-extraction', runtime: 'transformers', model: bert }, 'POST', server.adminKey);
  assert.equal(res.status, 201, await res.clone().text());
  const created = await res.json() as { id: string; status: string };
  assert.equal(created.status, 'RUNNING');
  return created;
}

/** A server-sent-events reader over fetch: `next()` gives the next event's data, parsed. */
function follow(url: string) {
  const abort = new AbortController();
  const response = fetch(url, { headers: bearer(server.adminKey), signal: abort.signal });
  let buffer = '';
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const decoder = new TextDecoder();
  return {
    response,
    /** The next event's data, or null when the stream ends. */
    async next(timeoutMs = 30_000): Promise<LogLine | null> {
      reader ??= (await response).body!.getReader();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data !== '') return JSON.parse(data) as LogLine;
          continue; // a comment (keepalive)
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms; unparsed: ${JSON.stringify(buffer)}`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms; unparsed: ${JSON.stringify(buffer)}`)), left); })]);
        clearTimeout(timer);
        if (chunk.done) return null;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    close: () => abort.abort(),
  };
}

describe('GET /api/services/<id>/logs', () => {
  test('a local service logs its state changes, by name or id, and tail picks the last lines', async () => {
    const created = await createBert('bert-logs');
    const lines = await logs('bert-logs');
    assert.deepEqual(texts(lines), ['event: STARTING (profile local)', 'event: STARTING → RUNNING']);
    assert.ok(lines.every((l) => Number.isInteger(l.t) && l.t > 0), JSON.stringify(lines));
    assert.ok(lines[0]!.t <= lines[1]!.t);
    assert.deepEqual(await logs(created.id), lines, 'by id as by name');

    const stop = await fetch(`${server.url}/api/services/bert-logs/stop`, { method: 'POST', headers: bearer(server.adminKey) });
    assert.equal(stop.status, 200);
    assert.deepEqual(texts(await logs('bert-logs', '?tail=1')), ['event: RUNNING → STOPPED']);
    assert.deepEqual(texts(await logs('bert-logs', '?tail=2')), ['event: STARTING → RUNNING', 'event: RUNNING → STOPPED']);
    assert.deepEqual(await logs('bert-logs', '?tail=0'), []);
    // Nothing in the query names a file: an extra parameter changes nothing.
    assert.deepEqual(await logs('bert-logs', '?tail=2&path=/etc/passwd&file=/etc/passwd'), await logs('bert-logs', '?tail=2'));
  });

  test('what the worker process prints while it runs a model goes to that model, and to no other', async () => {
    const infer = async (name: string, body: unknown) => {
      const res = await postJson(`${server.url}/v2/models/${name}/infer`, body, 'POST', server.adminKey);
      assert.equal(res.status, 200, await res.text());
    };
    await infer('iris.onnx', irisBody([[5.1, 3.5, 1.4, 0.2]]));
    // The upload is checked in the worker that just ran iris: onnxruntime warns then too, for no service yet.
    const upload = await uploadModel(server.url, 'noisy.onnx', writeNoisyModel(), server.adminKey);
    assert.equal(upload.status, 201, await upload.text());
    await infer('noisy.onnx', { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
    const noisy = await waitFor('onnxruntime\'s warning in the log of noisy.onnx', async () => {
      const lines = await logs('noisy.onnx');
      if (!lines.some((l) => WARNING.test(l.text))) throw new Error(`lines: ${JSON.stringify(lines)}`);
      return lines;
    });
    const warnings = noisy.filter((l) => WARNING.test(l.text));
    assert.equal(warnings.length, 1, 'loaded once, warned once (the upload check is nobody\'s)');
    assert.equal(warnings[0]!.stream, 'stderr');
    assert.doesNotMatch(warnings[0]!.text, /\x1b/, 'terminal colours are removed');
    assert.deepEqual(noisy.filter((l) => !WARNING.test(l.text)), [], 'nothing else was printed for it');
    for (const other of ['iris.onnx', 'bert-logs', 'embed']) {
      assert.ok(!(await logs(other)).some((l) => WARNING.test(l.text)), `${other} did not get noisy.onnx's warning`);
    }
  });

  test('follow=1 streams the tail, then each new line, until the client goes away', async () => {
    const created = await createBert('bert-follow');
    const stream = follow(logsUrl('bert-follow', '?follow=1&tail=1'));
    const res = await stream.response;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal((await stream.next())?.text, 'STARTING → RUNNING', 'the tail: the last line only');
    assert.equal(server.corral.logs.followers(created.id), 1);

    const stop = await fetch(`${server.url}/api/services/bert-follow/stop`, { method: 'POST', headers: bearer(server.adminKey) });
    assert.equal(stop.status, 200);
    assert.deepEqual(await stream.next(), { t: (await logs('bert-follow', '?tail=1'))[0]!.t, stream: 'event', text: 'RUNNING → STOPPED' });

    stream.close();
    await waitFor('the follower to be gone', () => {
      const n = server.corral.logs.followers(created.id);
      if (n !== 0) throw new Error(`${n} still following`);
      return true;
    });
  });

  test('a followed service that is deleted ends the stream', async () => {
    await createBert('bert-deleted');
    const stream = follow(logsUrl('bert-deleted', '?follow=1'));
    assert.equal((await stream.next())?.text, 'STARTING (profile local)');
    assert.equal((await stream.next())?.text, 'STARTING → RUNNING');
    const del = await fetch(`${server.url}/api/services/bert-deleted`, { method: 'DELETE', headers: bearer(server.adminKey) });
    assert.equal(del.status, 200);
    assert.equal(await stream.next(), null);
    const gone = await fetch(logsUrl('bert-deleted'), { headers: bearer(server.adminKey) });
    assert.equal(gone.status, 404);
  });

  test('an unknown service is 404 SERVICE_NOT_FOUND; a bad tail is 400', async () => {
    const missing = await fetch(logsUrl('nope'), { headers: bearer(server.adminKey) });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 'SERVICE_NOT_FOUND', error: "No service 'nope'. List services with GET /api/services." });
    for (const tail of ['abc', '-1', '2001', '1.5', '']) {
      const res = await fetch(logsUrl('embed', `?tail=${tail}`), { headers: bearer(server.adminKey) });
      assert.equal(res.status, 400, `tail=${tail}`);
      assert.deepEqual(await res.json(), { code: 'BAD_REQUEST', error: `tail must be a whole number from 0 to 2000 (the lines kept per service); got '${tail}'.` });
    }
    assert.equal((await fetch(logsUrl('embed', '?tail=2000'), { headers: bearer(server.adminKey) })).status, 200);
  });

  test('a key limited to iris* reads the logs of iris models only', async () => {
    const limited = await createKey(server.url, server.adminKey, { name: 'iris-reader', scopes: ['read'], models: ['iris*'] });
    assert.equal((await fetch(logsUrl('iris.onnx'), { headers: bearer(limited.key) })).status, 200);
    const refused = await fetch(logsUrl('noisy.onnx'), { headers: bearer(limited.key) });
    assert.equal(refused.status, 403);
    assert.equal((await refused.json() as { code: string }).code, 'MODEL_NOT_ALLOWED');
    const followRefused = await fetch(logsUrl('noisy.onnx', '?follow=1'), { headers: bearer(limited.key) });
    assert.equal(followRefused.status, 403);
  });
});
