/**
 * Services on a real single-node Slurm cluster (scripts/slurm/setup-local-cluster.sh
 * starts it): the job runs `corral host`, which registers with this gateway.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeHfCacheSnapshot } from '../fixtures/transformers/index.js';
import { startSlurmGateway, stopSlurmGateway } from '../helpers/slurm-gateway.js';
import { postJson, type TestServer } from '../helpers/test-server.js';
import { parseServerTiming } from '../tracing/tracing-helpers.js';

interface ServiceView { id: string; name: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null; revision: string | null; model_path: string; warning?: string }

let server: TestServer;
let bert: string;
let cacheDir: string;
let homeDir: string;

const get = async (name: string) => (await (await fetch(`${server.url}/api/services/${name}`)).json()) as ServiceView;

/** Polls a service until its status is one of `states`, recording every status seen. */
async function waitFor(name: string, states: string[], timeoutMs: number, seen: string[] = []): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await get(name);
    if (seen.at(-1) !== s.status) seen.push(s.status);
    if (states.includes(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`${name} stayed ${s.status} (${s.reason ?? ''}); wanted ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const createService = async (body: Record<string, unknown>) => {
  const res = await postJson(`${server.url}/api/services`, { task: 'feature-extraction', runtime: 'transformers', ...body });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as ServiceView;
};

before(async () => {
  ({ server, bert, homeDir } = await startSlurmGateway());
  cacheDir = join(server.home, 'shared-cache');
  await writeHfCacheSnapshot(cacheDir, 'tiny-org/tiny-bert', 'c0ffee1234', bert);
  for (const [name, timeLimit] of [['hpc', '10'], ['short', '1']]) {
    const res = await postJson(`${server.url}/api/profiles`, { name, type: 'slurm', host: 'localhost', home_dir: homeDir, cache_dir: cacheDir, partition: 'debug', time_limit: timeLimit, cpus: 1, memory: '2G' });
    assert.equal(res.status, 201, await res.clone().text());
  }
});

after(async () => {
  await stopSlurmGateway(server, ['slurm-timeout', 'slurm-bert', 'slurm-broken', 'slurm-pinned']);
});

describe('services on a Slurm profile', () => {
  let timeoutService: ServiceView;

  test('a service whose job outlives its time limit ends TIMEOUT (started first; checked last)', async () => {
    timeoutService = await createService({ name: 'slurm-timeout', model: bert, profile: 'short' });
    assert.equal(timeoutService.status, 'SUBMITTED');
  });

  test('submit → STARTING → RUNNING, answered by the job, then stop → STOPPED', async () => {
    const created = await createService({ name: 'slurm-bert', model: bert, profile: 'hpc' });
    assert.equal(created.status, 'SUBMITTED');
    const seen: string[] = [];
    const running = await waitFor('slurm-bert', ['RUNNING', 'FAILED'], 180_000, seen);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    assert.ok(running.job_id, 'a Slurm job id is recorded');
    assert.ok(running.endpoint && running.endpoint !== server.url, 'the endpoint is the job, not the gateway');
    // Polled, so STARTING (or even SUBMITTED) may pass between two polls; whatever was seen only moved forward.
    const forward = ['SUBMITTED', 'STARTING', 'RUNNING'];
    assert.deepEqual(seen, forward.filter((s) => seen.includes(s)), `states only moved forward: ${seen.join(' → ')}`);
    const squeue = execFileSync('squeue', ['-h', '-j', running.job_id!, '-o', '%T']).toString().trim();
    assert.equal(squeue, 'RUNNING');

    // The same model served locally gives the same embedding as the job does.
    await createService({ name: 'local-bert', model: bert });
    await waitFor('local-bert', ['RUNNING'], 60_000);
    const remote = await (await postJson(`${server.url}/embed`, { sentences: ['The sun rises in the east.'], model: 'slurm-bert' })).json() as { embeddings: number[][] };
    const local = await (await postJson(`${server.url}/embed`, { sentences: ['The sun rises in the east.'], model: 'local-bert' })).json() as { embeddings: number[][] };
    assert.equal(remote.embeddings[0]!.length, local.embeddings[0]!.length);
    remote.embeddings[0]!.forEach((v, i) => assert.ok(Math.abs(v - local.embeddings[0]![i]!) < 1e-4));
    const proxied = await postJson(`${server.url}/services/slurm-bert/embed`, { sentences: ['a', 'b'] });
    assert.equal(proxied.status, 200);
    // The request's id goes to the job's host and comes back; so does the host's timing of its batch.
    const traced = await fetch(`${server.url}/embed`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'via-slurm-1' },
      body: JSON.stringify({ sentences: ['one', 'two', 'three'], model: 'slurm-bert' }),
    });
    assert.equal(traced.status, 200, await traced.clone().text());
    assert.equal(traced.headers.get('x-request-id'), 'via-slurm-1');
    const timing = parseServerTiming(traced.headers.get('server-timing'));
    assert.equal(timing.batchRows, 3, 'the host ran the three sentences as one batch');
    assert.ok(timing.compute > 0 && timing.total >= timing.compute, JSON.stringify(timing));

    const stop = await fetch(`${server.url}/api/services/slurm-bert/stop`, { method: 'POST' });
    assert.equal(stop.status, 200);
    const stopped = await waitFor('slurm-bert', ['STOPPED'], 60_000);
    assert.equal(stopped.endpoint, null);
    assert.equal(execFileSync('squeue', ['-h', '-j', running.job_id!, '-o', '%T']).toString().trim(), '');
    const after = await postJson(`${server.url}/embed`, { sentences: ['x'], model: 'slurm-bert' });
    assert.equal(after.status, 503);
    assert.match(((await after.json()) as { error: string }).error, /is STOPPED/);
  });

  test('a job whose model cannot load ends FAILED with the reason', async () => {
    const broken = join(server.home, 'broken-model');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'config.json'), '{"model_type": "bert"}');
    await createService({ name: 'slurm-broken', model: broken, profile: 'hpc' });
    const failed = await waitFor('slurm-broken', ['FAILED', 'RUNNING', 'STOPPED'], 180_000);
    assert.equal(failed.status, 'FAILED');
    assert.match(failed.reason ?? '', /could not be loaded|not found|cannot load/i);
  });

  test('the registry finds hub snapshots in cache_dir; a model found is pinned, one missing is downloaded to home_dir only', async () => {
    const listed = await (await fetch(`${server.url}/models?profile=hpc&refresh=true`)).json() as Array<{ model: string; revision: string; source: string; path: string }>;
    const entry = listed.find((m) => m.model === 'tiny-org/tiny-bert');
    assert.ok(entry, JSON.stringify(listed));
    assert.equal(entry.source, 'cache');
    assert.equal(entry.revision, 'c0ffee1234');
    const cached = await (await fetch(`${server.url}/models?profile=hpc`)).json() as unknown[];
    assert.deepEqual(cached, listed, 'without refresh the database answers the same');

    const pinned = await createService({ name: 'slurm-pinned', model: 'tiny-org/tiny-bert', profile: 'hpc' });
    assert.equal(pinned.revision, 'c0ffee1234');
    assert.equal(pinned.model_path, entry.path);
    assert.equal((await waitFor('slurm-pinned', ['RUNNING', 'FAILED'], 180_000)).status, 'RUNNING');
    await fetch(`${server.url}/api/services/slurm-pinned/stop`, { method: 'POST' });

    const before = readdirSync(cacheDir).sort();
    const missing = await createService({ name: 'slurm-missing', model: 'other-org/not-here', profile: 'hpc' });
    assert.match(missing.warning ?? '', new RegExp(`download it to ${homeDir}`));
    await waitFor('slurm-missing', ['FAILED', 'STOPPED'], 180_000);
    assert.deepEqual(readdirSync(cacheDir).sort(), before, 'cache_dir is never written');
  });

  test('the first service, with a 1-minute limit, ends TIMEOUT', async () => {
    const timedOut = await waitFor('slurm-timeout', ['TIMEOUT', 'FAILED', 'STOPPED'], 240_000);
    assert.equal(timedOut.status, 'TIMEOUT', timedOut.reason ?? '');
  });
});
