// GceProvider against a local stand-in of the Compute Engine REST API, proved
// first with the real gcloud CLI; and where its access token comes from.
// Everything runs on 127.0.0.1.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { BoxState, BoxStatus } from '../../src/boxes/box-provider.js';
import { gceBoxState, GceProvider } from '../../src/boxes/gce-provider.js';
import { fetchGceToken, gceTokenSource } from '../../src/boxes/gce-token.js';
import { GceStandin } from '../helpers/gce-standin.js';

const ZONE = 'us-central1-a';
const TOKEN = 'ya29.standin-token';
const dir = mkdtempSync(join(tmpdir(), 'corral-gce-'));
let standin: GceStandin;
const servers: Server[] = [];

before(async () => {
  standin = await GceStandin.start({ token: TOKEN, transitionMs: 300 });
});
after(async () => {
  await standin?.close();
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const provider = (instances: string[], token = TOKEN, endpointUrl = standin.url) =>
  new GceProvider({ project: 'proj', zone: ZONE, instances, endpointUrl, token: async () => token });

/** Polls until the box is `state` (at most 10 s), returning every state seen, repeats dropped. */
async function statesUntil(p: GceProvider, instance: string, first: BoxStatus, state: BoxState): Promise<BoxState[]> {
  const seen: BoxState[] = [first.state];
  const deadline = Date.now() + 10_000;
  while (seen.at(-1) !== state) {
    if (Date.now() > deadline) assert.fail(`${instance} is still ${seen.at(-1)} after 10 s (seen ${seen.join(' → ')})`);
    await new Promise((r) => setTimeout(r, 25));
    const now = (await p.status(instance)).state;
    if (now !== seen.at(-1)) seen.push(now);
  }
  return seen;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('the real gcloud starts, describes, lists and stops instances on the stand-in, and cannot find a missing one', async () => {
  standin.addInstance(ZONE, 'gpu1');
  standin.addInstance(ZONE, 'gpu2', { status: 'RUNNING', natIP: '198.51.100.7' });
  const home = mkdtempSync(join(dir, 'gcloud-'));
  writeFileSync(join(home, 'token'), TOKEN);
  const env = {
    PATH: process.env.PATH, HOME: home,
    CLOUDSDK_CONFIG: join(home, 'config'),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: standin.url,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(home, 'token'),
    CLOUDSDK_CORE_PROJECT: 'proj',
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
  };
  const gcloud = (...args: string[]) => promisify(execFile)('/usr/bin/gcloud', args, { env, timeout: 60_000 });
  standin.requests.length = 0;

  const started = await gcloud('compute', 'instances', 'start', 'gpu1', '--zone', ZONE);
  assert.match(started.stderr, /Updated \[http:\/\/127\.0\.0\.1:\d+\/compute\/v1\/projects\/proj\/zones\/us-central1-a\/instances\/gpu1\]/);
  assert.match(started.stderr, /Instance external IP is 203\.0\.113\.\d+/);
  assert.deepEqual(standin.requests.map((r) => r.replace(/operation-[\w-]+/, 'OP')), [
    'POST /compute/v1/projects/proj/zones/us-central1-a/instances/gpu1/start?alt=json',
    'POST /compute/v1/projects/proj/zones/us-central1-a/operations/OP/wait?alt=json',
    'GET /compute/v1/projects/proj/zones/us-central1-a/instances/gpu1?alt=json',
  ], 'gcloud waits on the operation, then reads the instance');

  const described = JSON.parse((await gcloud('compute', 'instances', 'describe', 'gpu1', '--zone', ZONE, '--format=json')).stdout) as Record<string, any>;
  assert.equal(described.name, 'gpu1');
  assert.equal(described.status, 'RUNNING');
  assert.match(described.networkInterfaces[0].accessConfigs[0].natIP, /^203\.0\.113\.\d+$/);

  const listed = JSON.parse((await gcloud('compute', 'instances', 'list', '--zones', ZONE, '--format=json')).stdout) as Array<Record<string, string>>;
  assert.deepEqual(listed.map((i) => [i.name, i.status]), [['gpu1', 'RUNNING'], ['gpu2', 'RUNNING']]);

  await gcloud('compute', 'instances', 'stop', 'gpu2', '--zone', ZONE);
  assert.equal(standin.statusOf(ZONE, 'gpu2'), 'TERMINATED', 'gcloud returns once the stop operation is DONE');

  await assert.rejects(gcloud('compute', 'instances', 'describe', 'nope', '--zone', ZONE), (err: { stderr: string; code: number }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /ERROR: \(gcloud\.compute\.instances\.describe\) Could not fetch resource:\n - The resource 'projects\/proj\/zones\/us-central1-a\/instances\/nope' was not found/);
    return true;
  });
  assert.ok(standin.requests.every((r) => !r.includes('/batch')), 'no request left the Compute API the stand-in serves');
});

test('gceBoxState maps every Compute Engine status, and TERMINATED after a preemption to PREEMPTED', () => {
  const table: Array<[string, BoxState]> = [
    ['PROVISIONING', 'STARTING'], ['STAGING', 'STARTING'], ['REPAIRING', 'STARTING'],
    ['RUNNING', 'RUNNING'],
    ['STOPPING', 'STOPPING'], ['SUSPENDING', 'STOPPING'],
    ['SUSPENDED', 'STOPPED'], ['TERMINATED', 'STOPPED'], ['STOPPED', 'STOPPED'],
  ];
  for (const [gce, box] of table) assert.equal(gceBoxState(gce), box, gce);
  assert.equal(gceBoxState('TERMINATED', true), 'PREEMPTED');
  for (const gce of ['SUSPENDED', 'STOPPED', 'RUNNING', 'STAGING']) assert.equal(gceBoxState(gce, true), gceBoxState(gce), `only TERMINATED is preempted, not ${gce}`);
  assert.equal(gceBoxState('SOMETHING_NEW'), 'STOPPED', 'an unknown status cannot serve');
});

test('list reports each profile instance in profile order with state and address, and one the zone lacks as MISSING', async () => {
  standin.addInstance(ZONE, 'list-run', { status: 'RUNNING', natIP: '198.51.100.20' });
  standin.addInstance(ZONE, 'list-private', { status: 'RUNNING', natIP: null, networkIP: '10.128.0.99' });
  standin.addInstance(ZONE, 'list-off');
  standin.addInstance(ZONE, 'list-not-in-profile', { status: 'RUNNING' });
  const boxes = await provider(['list-off', 'list-gone', 'list-run', 'list-private']).list();
  assert.deepEqual(boxes, [
    { instance: 'list-off', state: 'STOPPED', zone: ZONE, providerState: 'TERMINATED' },
    { instance: 'list-gone', state: 'MISSING', zone: ZONE, reason: "Compute Engine has no instance 'list-gone' in project 'proj', zone 'us-central1-a'" },
    { instance: 'list-run', state: 'RUNNING', zone: ZONE, address: '198.51.100.20', providerState: 'RUNNING' },
    { instance: 'list-private', state: 'RUNNING', zone: ZONE, address: '10.128.0.99', providerState: 'RUNNING' },
  ]);
});

test('list follows nextPageToken across pages', async () => {
  const paged = await GceStandin.start({ token: TOKEN, pageSize: 1 });
  try {
    for (const name of ['a', 'b', 'c']) paged.addInstance(ZONE, name, { status: 'RUNNING', natIP: null, networkIP: `10.0.0.${name.charCodeAt(0)}` });
    const boxes = await provider(['c', 'a', 'b'], TOKEN, paged.url).list();
    assert.deepEqual(boxes.map((b) => [b.instance, b.state, b.address]), [['c', 'RUNNING', '10.0.0.99'], ['a', 'RUNNING', '10.0.0.97'], ['b', 'RUNNING', '10.0.0.98']]);
    assert.equal(paged.requests.filter((r) => r.includes('/instances')).length, 3);
  } finally {
    await paged.close();
  }
});

test('start goes STOPPED → STARTING → RUNNING and stop RUNNING → STOPPING → STOPPED', async () => {
  standin.addInstance(ZONE, 'cycle', { natIP: '198.51.100.30' });
  const p = provider(['cycle']);
  assert.deepEqual(await p.status('cycle'), { instance: 'cycle', state: 'STOPPED', zone: ZONE, providerState: 'TERMINATED' });

  const starting = await p.start('cycle');
  assert.deepEqual(starting, { instance: 'cycle', state: 'STARTING', zone: ZONE, providerState: 'STAGING' });
  assert.deepEqual(await statesUntil(p, 'cycle', starting, 'RUNNING'), ['STARTING', 'RUNNING']);
  assert.deepEqual(await p.status('cycle'), { instance: 'cycle', state: 'RUNNING', zone: ZONE, address: '198.51.100.30', providerState: 'RUNNING' });
  assert.deepEqual(await p.start('cycle'), await p.status('cycle'), 'starting a running box changes nothing');

  const stopping = await p.stop('cycle');
  assert.deepEqual(stopping, { instance: 'cycle', state: 'STOPPING', zone: ZONE, providerState: 'STOPPING' });
  assert.deepEqual(await statesUntil(p, 'cycle', stopping, 'STOPPED'), ['STOPPING', 'STOPPED']);
  assert.deepEqual(await p.status('cycle'), { instance: 'cycle', state: 'STOPPED', zone: ZONE, providerState: 'TERMINATED' });
});

test('right after asking, a box Compute Engine has not moved yet is STARTING or STOPPING, with the operation as reason', async () => {
  const slow = await GceStandin.start({ token: TOKEN, pendingMs: 200, transitionMs: 100 });
  try {
    slow.addInstance(ZONE, 'slow', { natIP: null, networkIP: '10.128.0.50' });
    const p = provider(['slow'], TOKEN, slow.url);
    const starting = await p.start('slow');
    assert.deepEqual({ ...starting, reason: starting.reason?.replace(/operation-[\w-]+/, 'OP') }, { instance: 'slow', state: 'STARTING', zone: ZONE, providerState: 'TERMINATED', reason: 'start requested (operation OP)' });
    assert.equal((await statesUntil(p, 'slow', starting, 'RUNNING')).at(-1), 'RUNNING');
    const stopping = await p.stop('slow');
    assert.deepEqual({ ...stopping, reason: stopping.reason?.replace(/operation-[\w-]+/, 'OP') }, { instance: 'slow', state: 'STOPPING', zone: ZONE, address: '10.128.0.50', providerState: 'RUNNING', reason: 'stop requested (operation OP)' });
    assert.equal((await statesUntil(p, 'slow', stopping, 'STOPPED')).at(-1), 'STOPPED');
  } finally {
    await slow.close();
  }
});

test('a preempted box is PREEMPTED with the time as reason until it is started again', async () => {
  standin.addInstance(ZONE, 'spot', { status: 'RUNNING' });
  standin.addInstance(ZONE, 'spot-neighbour', { status: 'RUNNING' });
  const p = provider(['spot', 'spot-neighbour']);
  const op = standin.preempt(ZONE, 'spot');
  standin.preempt(ZONE, 'spot-neighbour');
  await p.start('spot-neighbour'); // the neighbour's preemption and restart must not count for 'spot'

  const preempted = { instance: 'spot', state: 'PREEMPTED', zone: ZONE, providerState: 'TERMINATED', reason: `preempted by Compute Engine at ${String(op.insertTime)}` };
  assert.deepEqual(await p.status('spot'), preempted);
  assert.deepEqual((await p.list())[0], preempted);
  const lookup = standin.requests.findLast((r) => r.includes('/operations?'));
  assert.equal(
    decodeURIComponent(new URL(lookup!.split(' ')[1]!, 'http://x').searchParams.get('filter')!),
    `operationType = "compute.instances.preempted" AND targetLink = "${standin.url}projects/proj/zones/${ZONE}/instances/spot"`,
  );

  const starting = await p.start('spot');
  assert.equal(starting.state, 'STARTING');
  assert.deepEqual(await statesUntil(p, 'spot', starting, 'RUNNING'), ['STARTING', 'RUNNING']);
  const stopping = await p.stop('spot');
  assert.deepEqual(await statesUntil(p, 'spot', stopping, 'STOPPED'), ['STOPPING', 'STOPPED']);
  assert.deepEqual(await p.status('spot'), { instance: 'spot', state: 'STOPPED', zone: ZONE, providerState: 'TERMINATED' }, 'the old preemption predates the last start');
});

test('an instance Compute Engine does not have is MISSING for status, start and stop', async () => {
  const p = provider(['ghost']);
  const missing = { instance: 'ghost', state: 'MISSING', zone: ZONE, reason: "Compute Engine has no instance 'ghost' in project 'proj', zone 'us-central1-a'" };
  assert.deepEqual(await p.status('ghost'), missing);
  assert.deepEqual(await p.start('ghost'), missing);
  assert.deepEqual(await p.stop('ghost'), missing);
});

test('a refused token, an API error and an unreachable API are errors that say what to do', async () => {
  standin.addInstance(ZONE, 'guarded');
  await assert.rejects(provider(['guarded'], 'ya29.wrong').status('guarded'), (err: Error) => {
    assert.match(err.message, /^Compute Engine refused the access token \(HTTP 401 on GET http:\/\/127\.0\.0\.1:\d+\/compute\/v1\/projects\/proj\/zones\/us-central1-a\/instances\/guarded: Request had invalid authentication credentials\./);
    assert.match(err.message, /CORRAL_GCE_TOKEN_COMMAND .*GOOGLE_APPLICATION_CREDENTIALS/);
    return true;
  });
  const other = new GceProvider({ project: 'nobody', zone: ZONE, instances: ['x'], endpointUrl: standin.url, token: async () => TOKEN });
  await assert.rejects(other.list(), { message: /^Compute Engine API error on GET .*\/projects\/nobody\/zones\/us-central1-a\/instances \(HTTP 404\): The resource 'projects\/nobody' was not found$/ });

  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(provider(['guarded'], TOKEN, `http://127.0.0.1:${port}/compute/v1`).list(), {
    message: new RegExp(`^Cannot reach the Compute Engine API at http://127\\.0\\.0\\.1:${port}/compute/v1/: fetch failed: .*ECONNREFUSED`),
  });
});

test('CORRAL_GCE_TOKEN_COMMAND comes first, is trimmed, run once per 5 minutes, and reaches the API', async () => {
  const count = join(dir, 'command-runs');
  const metadata = await listen((_req, res) => res.end(JSON.stringify({ access_token: 'from-metadata', expires_in: 3600 })));
  const env = { PATH: process.env.PATH, CORRAL_GCE_TOKEN_COMMAND: `echo run >> ${count}; printf '  ${TOKEN}\\n\\n'`, GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent.json', CORRAL_GCE_METADATA_URL: metadata };
  const token = gceTokenSource({ env });
  standin.addInstance(ZONE, 'by-command', { status: 'RUNNING' });
  const p = new GceProvider({ project: 'proj', zone: ZONE, instances: ['by-command'], endpointUrl: standin.url, token });
  assert.equal((await p.status('by-command')).state, 'RUNNING');
  assert.deepEqual(await Promise.all([token(), token()]), [TOKEN, TOKEN]);
  assert.equal(readFileSync(count, 'utf8'), 'run\n', 'the command ran once');

  await assert.rejects(fetchGceToken({ env: { PATH: process.env.PATH, CORRAL_GCE_TOKEN_COMMAND: 'echo no credentials >&2; exit 3' } }),
    { message: 'No Compute Engine access token: CORRAL_GCE_TOKEN_COMMAND (echo no credentials >&2; exit 3) failed: no credentials' });
  await assert.rejects(fetchGceToken({ env: { PATH: process.env.PATH, CORRAL_GCE_TOKEN_COMMAND: 'true' } }), { message: 'No Compute Engine access token: CORRAL_GCE_TOKEN_COMMAND (true) printed nothing.' });
});

test('GOOGLE_APPLICATION_CREDENTIALS uses gcloud auth application-default print-access-token', async () => {
  const bin = mkdtempSync(join(dir, 'bin-'));
  // A gcloud of our own on PATH: the real one would ask Google's OAuth server.
  writeFileSync(join(bin, 'gcloud'), `#!/bin/sh\n[ "$*" = "auth application-default print-access-token" ] && [ "$GOOGLE_APPLICATION_CREDENTIALS" = "${bin}/sa.json" ] && echo adc-token || exit 9\n`);
  chmodSync(join(bin, 'gcloud'), 0o755);
  const found = await fetchGceToken({ env: { PATH: `${bin}:${process.env.PATH}`, GOOGLE_APPLICATION_CREDENTIALS: `${bin}/sa.json` } });
  assert.deepEqual(found, { token: 'adc-token', validMs: 300_000 });
});

test('with neither set, the token comes from the metadata server, with Metadata-Flavor, kept until shortly before it expires', async () => {
  const seen: Array<string | undefined> = [];
  const url = await listen((req, res) => {
    seen.push(req.headers['metadata-flavor'] as string | undefined);
    if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end('Missing Metadata-Flavor:Google header.');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ access_token: TOKEN, expires_in: 3599, token_type: 'Bearer' }));
  });
  const env = { CORRAL_GCE_METADATA_URL: `${url}/computeMetadata/v1/instance/service-accounts/default/token` };
  assert.deepEqual(await fetchGceToken({ env }), { token: TOKEN, validMs: 3_539_000 });
  const token = gceTokenSource({ env });
  standin.addInstance(ZONE, 'by-metadata');
  const p = new GceProvider({ project: 'proj', zone: ZONE, instances: ['by-metadata'], endpointUrl: standin.url, token });
  assert.equal((await p.status('by-metadata')).state, 'STOPPED');
  assert.equal(await token(), TOKEN);
  assert.deepEqual(seen, ['Google', 'Google'], 'one fetch for the direct call, one for the source; then cached');

  await assert.rejects(fetchGceToken({ env: { CORRAL_GCE_METADATA_URL: `${url.replace(/:\d+$/, ':1')}/token` } }), {
    message: /^No Compute Engine access token: the metadata server at http:\/\/127\.0\.0\.1:1\/token cannot be reached \(fetch failed\)\. Set CORRAL_GCE_TOKEN_COMMAND/,
  });
});
