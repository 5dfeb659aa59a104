/**
 * A gateway whose state is in PostgreSQL (CORRAL_DATABASE_URL): upload a model, predict
 * with it, stop; a gateway started again on the same database and CORRAL_HOME still lists
 * and serves it, and no SQLite file was ever made.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { postJson, startTestServer, uploadModel, type TestServer } from '../helpers/test-server.js';
import { useDatabase } from '../helpers/databases.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const suite = useDatabase('postgres', 'corral-pg-gateway-');

async function predictSetosa(server: TestServer): Promise<unknown> {
  const res = await postJson(`${server.url}/v2/models/iris/infer`, { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: SETOSA }], outputs: [{ name: 'label' }] });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test('a gateway on PostgreSQL uploads and predicts, and its model outlives a restart', async () => {
  // The same CORRAL_HOME both times (model files), the state in PostgreSQL.
  const env = { ...suite.database.env, CORRAL_HOME: suite.home };
  const label = { model_name: 'iris', model_version: '1', outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [0] }] };

  const first = await startTestServer({ workers: 1 }, env);
  try {
    const res = await uploadModel(first.url, 'iris', first.models.iris!);
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(await predictSetosa(first), label);
  } finally {
    await first.close();
  }

  const second = await startTestServer({ workers: 1 }, env);
  try {
    const listed = await (await fetch(`${second.url}/api/v1/models`)).json() as { model_list: string[] };
    assert.deepEqual(listed.model_list, ['iris']);
    assert.deepEqual(await predictSetosa(second), label);
  } finally {
    await second.close();
  }
  assert.equal(existsSync(join(suite.home, 'corral.sqlite')), false, 'the state went to PostgreSQL, not to CORRAL_HOME');
});
