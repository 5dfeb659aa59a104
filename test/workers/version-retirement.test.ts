/**
 * Replacing a model retires its old version only after the requests already
 * queued for it are answered; then every worker unloads it and its files go.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/scale-out.js';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';

let server: TestServer;
before(async () => { server = await startTestServer({ workers: 2 }); });
after(async () => { await server.close(); });

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];
const infer = (row: number[]) => postJson(`${server.url}/v2/models/iris.onnx/infer`, {
  inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: row }], outputs: [{ name: 'label' }],
});
type V2 = { model_version: string; outputs: Array<{ data: number[] }> };
const loaded = async () => ((await (await fetch(`${server.url}/api/workers`)).json()) as Array<{ loadedModels: string[] }>).map((w) => w.loadedModels);

describe('version retirement', () => {
  test('requests queued for version 1 during an upload are answered by version 1; then every worker unloads it', async () => {
    assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!)).status, 201);
    // Both workers load version 1. Requests go on until both hold it: a worker still starting
    // under load takes no batch, and one round could then land on the other worker alone.
    await waitFor('both workers to report iris.onnx@1 loaded', async () => {
      await Promise.all(Array.from({ length: 8 }, () => infer(SETOSA)));
      return (await loaded()).every((keys) => keys.includes('iris.onnx@1'));
    }, 30_000);

    // Hold the next requests in the batcher: batches wait up to 3 s for 64 rows.
    const config = await fetch(`${server.url}/api/v1/models/iris.onnx/config`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_batch_size: 64, max_queue_delay_microseconds: 3_000_000 }),
    });
    assert.equal(config.status, 200);
    const queued = [infer(SETOSA), infer(VIRGINICA), infer(SETOSA)];
    const replaced = await uploadModel(server.url, 'iris.onnx', server.models.iris!);
    assert.equal(replaced.status, 200);
    assert.match(((await replaced.json()) as { http_status: { description: string } }).http_status.description, /version 2/);

    const answers = await Promise.all(queued.map(async (pending) => { const r = await pending; return { status: r.status, body: (await r.json()) as V2 }; }));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.deepEqual(answers.map((a) => a.body.model_version), ['1', '1', '1']);
    assert.deepEqual(answers.map((a) => a.body.outputs[0]!.data[0]), [0, 2, 0]);

    // Retired: no worker keeps version 1, its directory is gone, and version 2 answers.
    await waitFor('every worker to unload iris.onnx@1', async () => (await loaded()).every((keys) => !keys.includes('iris.onnx@1')), 20_000);
    assert.equal(existsSync(join(server.home, 'models', 'iris.onnx', '1')), false);
    const now = await infer(VIRGINICA);
    assert.equal(now.status, 200);
    const body = (await now.json()) as V2;
    assert.equal(body.model_version, '2');
    assert.equal(body.outputs[0]!.data[0], 2);
  });
});
