/**
 * Boxes over HTTP on a real gateway with auth on: a `command` profile created
 * through POST /api/profiles, whose start, stop and status commands are small
 * shell scripts keeping each instance's state in a file (no machines). Then
 * /api/boxes (list, status, start, stop, the events stream, the controller's
 * rules and errors, scopes) and Laminoid's controller routes (/api/instance/...,
 * HTTP Basic and ?token= as Laminoid's curl examples send them).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestServer } from '../helpers/test-server.js';
import { bearer, createKey, rawRequest, startAuthServer } from '../auth/auth-helpers.js';
import { EventStream } from '../helpers/event-stream.js';

/**
 * The scripts of a command profile. Each instance's state is the file named
 * after it (none: STOPPED). start writes STARTING and, as the state after the
 * next status read, RUNNING; stop writes STOPPING then STOPPED. So a box moves
 * one step per status read: no timing involved.
 */
function writeBoxScripts(dir: string): { start_command: string; stop_command: string; status_command: string } {
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\nd=$(dirname "$0")\ni="$CORRAL_BOX_INSTANCE"\n${body}\n`);
    chmodSync(path, 0o755);
    return `sh ${path}`;
  };
  return {
    start_command: script('start.sh', 'echo STARTING > "$d/$i"\necho RUNNING > "$d/$i.next"'),
    stop_command: script('stop.sh', 'echo STOPPING > "$d/$i"\necho STOPPED > "$d/$i.next"'),
    status_command: script('status.sh', [
      'if [ ! -f "$d/$i" ]; then echo STOPPED; exit 0; fi',
      'state=$(cat "$d/$i")',
      'if [ -f "$d/$i.next" ]; then mv "$d/$i.next" "$d/$i"; fi',
      'if [ "$state" = RUNNING ]; then echo "RUNNING 127.0.0.1"; else echo "$state"; fi',
    ].join('\n')),
  };
}


let server: TestServer & { adminKey: string };
let dir: string;
let commands: ReturnType<typeof writeBoxScripts>;
let readKey: string;
let operateKey: string;

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`sloth:${key}`).toString('base64')}` });
const call = async (method: string, path: string, headers: Record<string, string> = bearer(server.adminKey), body?: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as any };
};
const stateFile = (instance: string) => join(dir, instance);
const box = (instance: string, state: string, extra: Record<string, unknown> = {}) => ({
  profile: 'lab', instance, state, zone: null, address: null, provider_state: state, reason: null, ...extra,
});

before(async () => {
  server = await startAuthServer({ workers: 1 });
  dir = mkdtempSync(join(tmpdir(), 'corral-boxes-'));
  commands = writeBoxScripts(dir);
  readKey = (await createKey(server.url, server.adminKey, { name: 'reader', scopes: ['read'] })).key;
  operateKey = (await createKey(server.url, server.adminKey, { name: 'operator', scopes: ['read', 'services:operate'] })).key;
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('box profiles through /api/profiles', () => {
  test('a command profile is created with its box keys, and the view shows every key', async () => {
    const created = await call('POST', '/api/profiles', bearer(server.adminKey), {
      name: 'lab', type: 'command', instances: 'box-a,box-b,box-c,box-gone', ...commands, max_restarts: 2,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body, {
      name: 'lab', type: 'command', host: null, user: null, port: null, identity_file: null, home_dir: null, cache_dir: null,
      partition: null, time_limit: null, gpus: null, memory: null, cpus: null,
      project: null, zone: null, region: null, instances: 'box-a,box-b,box-c,box-gone', endpoint_url: null,
      start_command: commands.start_command, stop_command: commands.stop_command, status_command: commands.status_command, max_restarts: 2,
    });
    assert.deepEqual((await call('GET', '/api/profiles/lab')).body, created.body);
    // PATCH takes the new keys too.
    const patched = await call('PATCH', '/api/profiles/lab', bearer(server.adminKey), { max_restarts: 3 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.max_restarts, 3);
    // A gce profile with all it needs is accepted (no call to Google is made by creating it).
    const gce = await call('POST', '/api/profiles', bearer(server.adminKey), {
      name: 'cloud', type: 'gce', project: 'sloth-compute', zone: 'us-central1-a', instances: 'beast-1', endpoint_url: 'http://127.0.0.1:9/compute',
    });
    assert.equal(gce.status, 201, JSON.stringify(gce.body));
    assert.equal((await call('DELETE', '/api/profiles/cloud')).status, 200);
  });

  test('bad box fields are 400s naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'bad1', type: 'gce', zone: 'us-central1-a', instances: 'a' }, /a gce profile needs project/],
      [{ name: 'bad2', type: 'command', instances: 'ok,a;b', ...commands }, /instance 'a;b' is not a valid name/],
      [{ name: 'bad3', type: 'gce', project: 'p', zone: 'us-central1-a', instances: 'a', endpoint_url: 'ftp://x' }, /endpoint_url must be an http\(s\) URL, got 'ftp:\/\/x'/],
      [{ name: 'bad4', type: 'command', instances: 'a', ...commands, max_restarts: -1 }, /max_restarts/],
      [{ name: 'bad5', type: 'ec2', instances: 'i-0abc' }, /ec2 profile needs region/],
      [{ name: 'bad6', type: 'cloud' }, /type/],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', '/api/profiles', bearer(server.adminKey), body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'BAD_REQUEST');
      assert.match(res.body.error, message);
    }
    assert.equal((await call('GET', '/api/profiles/bad1')).status, 404);
  });
});

describe('/api/boxes', () => {
  test('lists the boxes of every box profile, or of one', async () => {
    writeFileSync(stateFile('box-gone'), 'MISSING\n');
    const all = await call('GET', '/api/boxes', bearer(readKey));
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body, [box('box-a', 'STOPPED'), box('box-b', 'STOPPED'), box('box-c', 'STOPPED'), box('box-gone', 'MISSING')]);
    assert.deepEqual((await call('GET', '/api/boxes?profile=lab', bearer(readKey))).body, all.body);
    const local = await call('GET', '/api/boxes?profile=local', bearer(readKey));
    assert.equal(local.status, 400);
    assert.equal(local.body.code, 'BAD_REQUEST');
    assert.match(local.body.error, /'local' is a local profile, not a box profile/);
    const unknown = await call('GET', '/api/boxes?profile=nope', bearer(readKey));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'PROFILE_NOT_FOUND');
  });

  test('start and stop change the state, and the events stream shows each change of the box', async () => {
    const stream = await EventStream.open(`${server.url}/api/boxes/lab/box-a/events?token=${readKey}`);
    try {
      assert.equal(stream.res.status, 200);
      assert.equal(stream.res.headers.get('content-type'), 'text/event-stream');
      const first = await stream.next('the current status');
      assert.equal(first.event, 'box');
      assert.deepEqual(first.data, box('box-a', 'STOPPED'));

      const started = await call('POST', '/api/boxes/lab/box-a/start', bearer(operateKey));
      assert.equal(started.status, 200, JSON.stringify(started.body));
      assert.deepEqual(started.body, box('box-a', 'STARTING'));
      assert.deepEqual((await stream.next('STARTING')).data, box('box-a', 'STARTING'));
      // Starting a STARTING or RUNNING box changes nothing.
      const status = await call('GET', '/api/boxes/lab/box-a', bearer(readKey));
      assert.deepEqual(status.body, box('box-a', 'RUNNING', { address: '127.0.0.1' }));
      const running = await stream.next('RUNNING');
      assert.deepEqual(running.data, box('box-a', 'RUNNING', { address: '127.0.0.1' }));
      assert.equal(typeof running.id, 'number');
      assert.deepEqual((await call('POST', '/api/boxes/lab/box-a/start', bearer(operateKey))).body, box('box-a', 'RUNNING', { address: '127.0.0.1' }));

      const stopped = await call('POST', '/api/boxes/lab/box-a/stop', bearer(operateKey));
      assert.equal(stopped.status, 200);
      assert.deepEqual(stopped.body, box('box-a', 'STOPPING'));
      assert.deepEqual((await stream.next('STOPPING')).data, box('box-a', 'STOPPING'));
      assert.deepEqual((await call('GET', '/api/boxes/lab/box-a', bearer(readKey))).body, box('box-a', 'STOPPED'));
      assert.deepEqual((await stream.next('STOPPED')).data, box('box-a', 'STOPPED'));
      // A box of another instance is not on this stream.
      await call('GET', '/api/boxes/lab/box-b', bearer(readKey));
      assert.equal(stream.events.length, 5);
      // Stopping a STOPPED box changes nothing.
      assert.deepEqual((await call('POST', '/api/boxes/lab/box-a/stop', bearer(operateKey))).body, box('box-a', 'STOPPED'));
    } finally {
      stream.close();
    }
    // Start and stop are audited with the key that asked.
    const audit = await call('GET', '/api/audit?action=box.start');
    assert.equal(audit.status, 200);
    const entries = audit.body as Array<Record<string, unknown>>;
    assert.ok(entries.some((e) => e.action === 'box.start' && e.target === 'lab/box-a' && e.key_name === 'operator'), JSON.stringify(entries));
    const stops = (await call('GET', '/api/audit?action=box.stop')).body as Array<Record<string, unknown>>;
    assert.ok(stops.some((e) => e.target === 'lab/box-a' && e.key_name === 'operator'), JSON.stringify(stops));
  });

  test('scopes: reading needs read, start and stop need services:operate', async () => {
    const anonymous = await call('GET', '/api/boxes', {});
    assert.equal(anonymous.status, 401);
    const refused = await call('POST', '/api/boxes/lab/box-b/start', bearer(readKey));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'FORBIDDEN');
    assert.match(refused.body.error, /lacks the 'services:operate' scope/);
    assert.equal((await call('POST', '/api/boxes/lab/box-b/stop', bearer(readKey))).status, 403);
    assert.equal(existsSync(stateFile('box-b')), false, 'the refused start ran no command');
    // ?token= is a credential on GET routes.
    assert.equal((await call('GET', `/api/boxes/lab/box-b?token=${readKey}`, {})).status, 200);
  });

  test('unknown instance: BOX_NOT_FOUND; unknown profile: PROFILE_NOT_FOUND; not a box profile: BAD_REQUEST', async () => {
    for (const [method, path] of [['GET', '/api/boxes/lab/nope'], ['POST', '/api/boxes/lab/nope/start'], ['POST', '/api/boxes/lab/nope/stop'], ['GET', '/api/boxes/lab/nope/events']]) {
      const res = await call(method!, path!);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.code, 'BOX_NOT_FOUND');
      assert.match(res.body.error, /Profile 'lab' has no instance 'nope'; it lists box-a, box-b, box-c, box-gone/);
    }
    // An instance the provider does not know cannot be started.
    const gone = await call('POST', '/api/boxes/lab/box-gone/start');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'BOX_NOT_FOUND');
    for (const path of ['/api/boxes/nope/box-a', '/api/boxes/nope/box-a/start', '/api/boxes/nope/box-a/events']) {
      const res = await call(path.endsWith('start') ? 'POST' : 'GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.code, 'PROFILE_NOT_FOUND');
    }
    const local = await call('POST', '/api/boxes/local/box-a/start');
    assert.equal(local.status, 400);
    assert.equal(local.body.code, 'BAD_REQUEST');
  });

  test('a STOPPING box cannot be started: BOX_BUSY', async () => {
    writeFileSync(stateFile('box-c'), 'STOPPING\n');
    const res = await call('POST', '/api/boxes/lab/box-c/start', bearer(operateKey));
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'BOX_BUSY');
    assert.match(res.body.error, /Box 'box-c' of profile 'lab' is STOPPING/);
    assert.equal(readFileSync(stateFile('box-c'), 'utf8'), 'STOPPING\n', 'start_command did not run');
    writeFileSync(stateFile('box-c'), 'STOPPED\n');
  });
});

describe("Laminoid's controller routes", () => {
  const laminoid = (path: string, key = operateKey) => call('GET', `${path}${path.includes('?') ? '&' : '?'}token=${key}`, { ...basic(key), 'content-type': 'application/json' });
  const instance = (name: string, status: string, state: string, address: string | null = null) => ({ kind: 'compute#instance', name, zone: 'any', status, profile: 'lab', state, address });

  test('list, status, start and stop, as curl -u sloth:<key> ...?token=<key> sends them', async () => {
    const list = await laminoid('/api/instance/list');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    // GCE's list holds the instances that exist: not box-gone.
    assert.deepEqual(list.body, [instance('box-a', 'TERMINATED', 'STOPPED'), instance('box-b', 'TERMINATED', 'STOPPED'), instance('box-c', 'TERMINATED', 'STOPPED')]);

    assert.deepEqual((await laminoid('/api/instance/any/box-b/status')).body, instance('box-b', 'TERMINATED', 'STOPPED'));
    const start = await laminoid('/api/instance/us-central1-a/box-b/start');
    assert.equal(start.status, 200, JSON.stringify(start.body));
    assert.deepEqual(start.body, {
      kind: 'compute#operation', name: 'operation-corral-start-box-b', operationType: 'start', zone: 'us-central1-a', status: 'RUNNING', progress: 0,
      instance: { ...instance('box-b', 'STAGING', 'STARTING'), zone: 'us-central1-a' },
    });
    assert.deepEqual((await laminoid('/api/instance/any/box-b/status')).body, instance('box-b', 'RUNNING', 'RUNNING', '127.0.0.1'));
    const again = await laminoid('/api/instance/any/box-b/start');
    assert.equal(again.body.status, 'DONE');
    assert.equal(again.body.progress, 100);
    const stop = await laminoid('/api/instance/any/box-b/stop');
    assert.equal(stop.status, 200);
    assert.equal(stop.body.operationType, 'stop');
    assert.deepEqual(stop.body.instance, instance('box-b', 'STOPPING', 'STOPPING'));
    assert.deepEqual((await laminoid('/api/instance/any/box-b/status')).body, instance('box-b', 'TERMINATED', 'STOPPED'));
  });

  test('each credential alone works: HTTP Basic, ?token=; a read key cannot start', async () => {
    assert.equal((await call('GET', '/api/instance/list', basic(readKey))).status, 200);
    assert.equal((await call('GET', `/api/instance/list?token=${readKey}`, {})).status, 200);
    assert.equal((await call('GET', '/api/instance/list', {})).status, 401);
    const refused = await call('GET', '/api/instance/any/box-b/start', basic(readKey));
    assert.equal(refused.status, 403);
    assert.match(refused.body.error, /lacks the 'services:operate' scope/);
    const token = await call('GET', `/api/instance/any/box-b/start?token=${readKey}`, {});
    assert.equal(token.status, 403);
    assert.equal(readFileSync(stateFile('box-b'), 'utf8'), 'STOPPED\n', 'no refused start ran a command');
  });

  test('errors: an unknown instance is BOX_NOT_FOUND (its `error` key, where Laminoid clients look)', async () => {
    for (const op of ['status', 'start', 'stop']) {
      const res = await laminoid(`/api/instance/any/nope/${op}`);
      assert.equal(res.status, 404, op);
      assert.equal(res.body.code, 'BOX_NOT_FOUND');
      assert.match(res.body.error, /No box profile lists instance 'nope'/);
    }
    const gone = await laminoid('/api/instance/any/box-gone/status');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'BOX_NOT_FOUND');
  });

  test('start and stop are GETs that change state: guarded against cross-site pages, and no HEAD twin', async () => {
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }] as Array<Record<string, string>>) {
      const res = await rawRequest(`${server.url}/api/instance/any/box-b/start`, { headers: { ...basic(operateKey), ...headers } });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /Cross-origin request/);
    }
    // Reads stay open to them (a page may show the list), as every GET is.
    assert.equal((await rawRequest(`${server.url}/api/instance/list`, { headers: { ...basic(operateKey), 'sec-fetch-site': 'cross-site' } })).status, 200);
    assert.equal((await rawRequest(`${server.url}/api/instance/any/box-b/start`, { method: 'HEAD', headers: basic(operateKey) })).status, 404);
    assert.equal(readFileSync(stateFile('box-b'), 'utf8'), 'STOPPED\n', 'box-b was not started');
    assert.deepEqual((await laminoid('/api/instance/any/box-b/status')).body, instance('box-b', 'TERMINATED', 'STOPPED'));
  });
});
