// `corral start` on a fresh CORRAL_HOME, as a new user runs it: the first start prints
// the admin key once, with where the web UI and the API reference are, and both work
// with that key. A second start prints no key.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/corral.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'corral-start-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** Starts `corral start` and collects its output until the listening line names the port. */
async function start(): Promise<{ child: ChildProcess; stdout: () => string; url: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--host', '127.0.0.1', '--port', '0', '--workers', '1'], {
    env: { ...process.env, CORRAL_HOME: home, CORRAL_API_KEY: '', CORRAL_AUTH: 'on', CORRAL_LOG_LEVEL: 'info' },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  for (;;) {
    const listening = /Corral is listening on (http:\/\/127\.0\.0\.1:\d+) \(web UI \1\/ui\/, API reference \1\/docs\)/.exec(out);
    if (listening) return { child, stdout: () => out, url: listening[1]! };
    if (child.exitCode !== null) assert.fail(`corral start exited ${child.exitCode}: ${out}`);
    await once(child.stdout!, 'data');
  }
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
}

test('the first start prints the admin key with the web UI and API reference addresses, which work with it', async () => {
  const { child, stdout, url } = await start();
  try {
    // The banner follows the listening line; wait for its last line.
    while (!stdout().includes('Create scoped keys')) await once(child.stdout!, 'data');
    const key = /Admin API key[^\n]*:\n\n {2}(corral_\S+)\n/.exec(stdout())?.[1];
    assert.ok(key, stdout());
    assert.match(stdout(), new RegExp(`^Web UI: ${url}/ui/ \\(log in with this key\\) · API reference: ${url}/docs$`, 'm'));
    const ui = await fetch(`${url}/ui/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /<div id="app">/);
    const session = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify({ key }) });
    assert.equal(session.status, 200, await session.clone().text());
    assert.equal((await fetch(`${url}/docs`)).status, 200);
    assert.equal((await fetch(`${url}/api/v1/models`)).status, 401);
    assert.equal((await fetch(`${url}/api/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
  } finally {
    await stop(child);
  }
});

test('a second start on the same home prints no key', async () => {
  const { child, stdout } = await start();
  await stop(child);
  assert.doesNotMatch(stdout(), /Admin API key|corral_[A-Za-z0-9_-]{20,}/);
});
