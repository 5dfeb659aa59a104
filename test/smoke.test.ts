import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getWithJsonBody, postJson, startTestServer, uploadModel, type TestServer } from './helpers/test-server.js';

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => { await server.close(); });

test('a new user uploads iris and gets a prediction through both APIs', async () => {
  const up = await uploadModel(server.url, 'iris.onnx', server.models.iris!);
  assert.equal(up.status, 201);
  const ml = await getWithJsonBody(`${server.url}/api/v1/models/iris.onnx/prediction`, { values: [5.1, 3.5, 1.4, 0.2] });
  assert.equal(ml.status, 200);
  assert.deepEqual((ml.json as { values: number[] }).values, [0]);
  const v2 = await postJson(`${server.url}/v2/models/iris.onnx/infer`, {
    id: 'r1', inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [6.7, 3.0, 5.2, 2.3] }], outputs: [{ name: 'label' }],
  });
  assert.equal(v2.status, 200);
  assert.deepEqual(await v2.json(), { model_name: 'iris.onnx', model_version: '1', id: 'r1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [2] }] });
});
