/**
 * Worker errors are classified by their type, not their wording: only a
 * runtime's input checks and onnxruntime's own rejection of a feed are the
 * client's fault (400). An internal failure whose message happens to say
 * "type", "index", "invalid" or "got" is a 5xx. Real worker processes; the
 * internal failures are injected by test/fixtures/worker-faults.mjs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeFixtureModels } from '../fixtures/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../src/runtimes/input-error.js';
import { onnxRuntime } from '../../src/runtimes/onnx/onnx-runtime.js';
import { textsOf } from '../../src/runtimes/embed/embed-runtime.js';
import { readTextList } from '../../src/runtimes/transformers/text-input.js';
import { readMessages } from '../../src/runtimes/transformers/chat-prompt.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

const FAULTS = fileURLToPath(new URL('../fixtures/worker-faults.mjs', import.meta.url));
const env = { threads: 1, allowRemoteModels: false, modelCacheDir: tmpdir() };

async function infer(server: TestServer, first: number): Promise<{ status: number; error: string }> {
  const res = await postJson(`${server.url}/v2/models/iris.onnx/infer`, {
    inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [first, 3.5, 1.4, 0.2] }],
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, error: body.error ?? '' };
}

describe('worker error classification (real workers)', () => {
  let server: TestServer;
  const savedOptions = process.env.NODE_OPTIONS;

  before(async () => {
    // Worker processes inherit the environment: they preload the fault injector.
    process.env.NODE_OPTIONS = `${savedOptions ?? ''} --import ${FAULTS}`.trim();
    server = await startTestServer({ workers: 1 });
    const up = await uploadModel(server.url, 'iris.onnx', server.models.iris!);
    assert.equal(up.status, 201, await up.text());
  });
  after(async () => {
    await server?.close();
    if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedOptions;
  });

  test('a good request is 200', async () => {
    assert.equal((await infer(server, 5.1)).status, 200);
  });

  test("an internal TypeError whose message says 'type' is 503 INFERENCE_FAILED, not 400", async () => {
    const r = await infer(server, 777);
    assert.equal(r.status, 503, r.error);
    assert.match(r.error, /^Model 'iris\.onnx' failed: Cannot read properties of undefined \(reading 'type'\)$/);
  });

  test("an internal Error whose message says 'index', 'invalid' and 'got' is 503, not 400", async () => {
    const r = await infer(server, 778);
    assert.equal(r.status, 503, r.error);
    assert.match(r.error, /^Model 'iris\.onnx' failed: internal buffer index 3 is invalid/);
  });

  test('onnxruntime rejecting the feed itself is still 400 INFERENCE_REJECTED', async () => {
    const r = await infer(server, 779);
    assert.equal(r.status, 400, r.error);
    assert.match(r.error, /^Model 'iris\.onnx' rejected the input: Got invalid dimensions for input: float_input/);
  });

  test('the worker that failed internally still serves', async () => {
    assert.equal((await infer(server, 5.1)).status, 200);
  });
});

describe('runtime input checks throw InvalidInputError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-classify-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('text list, chat messages and embed inputs', () => {
    assert.throws(() => readTextList({ texts: [] }, 'feature-extraction'), InvalidInputError);
    assert.throws(() => readTextList({ texts: [3] }, 'feature-extraction'), InvalidInputError);
    assert.throws(() => readMessages([{ role: 'robot', content: 'x' }]), InvalidInputError);
    assert.throws(() => textsOf({ texts: 'one' }, 'embed'), InvalidInputError);
  });

  test('the onnx runtime: onnxruntime rejections are InvalidInputError, other failures are not', async () => {
    const models = writeFixtureModels(dir);
    const model = await onnxRuntime.load({ key: 'iris@1', runtime: 'onnx', path: models.iris! }, env);
    try {
      const tensor = (shape: number[], data: number[]) => ({ datatype: 'FP32' as const, shape, data: Float32Array.from(data) });
      const ok = await model.run({ inputs: { float_input: tensor([1, 4], [5.1, 3.5, 1.4, 0.2]) } });
      assert.ok(ok);
      await assert.rejects(model.run({ inputs: { float_input: tensor([1, 3], [5.1, 3.5, 1.4]) } }), InvalidInputError);
      await assert.rejects(model.run({ inputs: { float_input: tensor([4], [5.1, 3.5, 1.4, 0.2]) } }), InvalidInputError);
      await assert.rejects(model.run({ inputs: {} }), InvalidInputError);
      await assert.rejects(model.run({ inputs: { float_input: tensor([1, 4], [5.1, 3.5, 1.4, 0.2]) }, outputs: ['nope'] }), InvalidInputError);
      await model.dispose();
      // A session that is gone is the server's problem, not the input's.
      await assert.rejects(model.run({ inputs: { float_input: tensor([1, 4], [5.1, 3.5, 1.4, 0.2]) } }), (err: unknown) => !(err instanceof InvalidInputError));
    } finally {
      await model.dispose().catch(() => undefined);
    }
  });
});
