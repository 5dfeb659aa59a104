/** A gateway that stopped with training jobs unfinished fails them, naming the state, when it starts again (on SQLite and on PostgreSQL). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { ProfileStore } from '../../src/profiles/index.js';
import type { ModelRepository } from '../../src/repository/index.js';
import { TrainingManager, trainingSettingsFrom } from '../../src/training/index.js';
import { DIALECTS, freshDatabase } from '../helpers/databases.js';

for (const dialect of DIALECTS) test(`${dialect}: jobs left queued, installing, running or validating are failed on the next start; finished ones stay`, async () => {
  const home = mkdtempSync(join(tmpdir(), 'corral-training-'));
  const database = await freshDatabase(dialect, home);
  try {
    const db = await database.open();
    const base = { tag: 't', model_name: 't.onnx', profile: 'local', options_json: '{"timeout_minutes":60,"memory":null,"cpus":null,"gpus":null}', requirements_sha256: null, has_dataset: 0, created_at: '2026-01-01T00:00:00.000Z', started_at: null, finished_at: null, exit_code: null, error: null, model_version: null };
    for (const state of ['queued', 'installing', 'running', 'validating', 'registered', 'cancelled']) {
      await db.insertInto('training_jobs').values({ ...base, id: state, state, model_version: state === 'registered' ? 3 : null }).execute();
    }
    const manager = await TrainingManager.open({
      db, home, repository: {} as ModelRepository, profiles: new ProfileStore(join(home, 'profiles.cfg'), home), logger: pino({ level: 'silent' }), settings: trainingSettingsFrom({}),
    });
    for (const state of ['queued', 'installing', 'running', 'validating']) {
      const job = await manager.get(state);
      assert.equal(job.state, 'failed');
      assert.equal(job.error, `the gateway restarted while the job was ${state}`);
      assert.ok(job.finished_at);
    }
    assert.equal((await manager.get('registered')).state, 'registered');
    assert.equal((await manager.get('registered')).model_version, 3);
    assert.equal((await manager.get('cancelled')).state, 'cancelled');
    await manager.close();
  } finally {
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  }
});
