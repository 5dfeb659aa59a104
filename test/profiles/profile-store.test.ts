// The profile store on a real profiles.cfg in a temp dir: `local` always exists,
// can be changed but neither created again nor deleted, and other profiles come and go.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CorralError } from '../../src/errors/index.js';
import { ProfileStore } from '../../src/profiles/profile-store.js';

const dir = mkdtempSync(join(tmpdir(), 'corral-profiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const code = (expected: string, message: RegExp) => (err: unknown) => err instanceof CorralError && err.code === expected && message.test(err.message);

test('local exists with no file, can be changed, and is never deleted, before or after a change', async () => {
  const store = new ProfileStore(join(dir, 'profiles.cfg'), dir);
  assert.deepEqual(store.list(), [{ name: 'local', type: 'local', homeDir: dir }]);
  await assert.rejects(store.delete('local'), code('BAD_REQUEST', /'local' profile \(this machine\) cannot be deleted/));
  await assert.rejects(store.create({ name: 'local', type: 'local', homeDir: dir }), code('ALREADY_EXISTS', /already exists/));
  await store.update('local', { homeDir: join(dir, 'elsewhere') });
  await assert.rejects(store.delete('local'), code('BAD_REQUEST', /cannot be deleted/));
  assert.equal(store.get('local').homeDir, join(dir, 'elsewhere'), 'the change is kept');
  assert.match(readFileSync(join(dir, 'profiles.cfg'), 'utf8'), /^\[local\]$/m);
});

test('another profile is created, listed after local, deleted, and then not found', async () => {
  const store = new ProfileStore(join(dir, 'other.cfg'), dir);
  await store.create({ name: 'lab', type: 'local', homeDir: join(dir, 'lab') });
  assert.deepEqual(store.list().map((p) => p.name), ['local', 'lab']);
  await store.delete('lab');
  assert.deepEqual(store.list().map((p) => p.name), ['local']);
  await assert.rejects(store.delete('lab'), code('PROFILE_NOT_FOUND', /No profile 'lab'/));
  assert.throws(() => store.get('lab'), code('PROFILE_NOT_FOUND', /corral profile create/));
});
