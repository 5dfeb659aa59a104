/**
 * Services on boxes, end to end, with real "boxes": network namespaces with sshd
 * inside (test/helpers/netns-box.ts), managed by a `command` profile whose start
 * command brings the namespace's sshd up. The gateway listens on the veth address;
 * `corral host` runs inside the box over SSH and registers with it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IdleReaper } from '../../src/services/idle-reaper.js';
import { writeTinyBert } from '../fixtures/transformers/index.js';
import { createNetnsBoxes, type NetnsBoxes } from '../helpers/netns-box.js';
import { postJson, startTestServer, type TestServer } from '../helpers/test-server.js';

interface ServiceView { id: string; name: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null }
interface BoxView { profile: string; instance: string; state: string; address?: string }

let boxes: NetnsBoxes;
let server: TestServer;
let key: string;
let bert: string;
let homeDir: string;

const auth = () => ({ authorization: `Bearer ${key}` });
const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${server.url}${path}`, { headers: auth() });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
};
const service = (name: string) => get<ServiceView>(`/api/services/${name}`);
const box = (profile: string, instance: string) => get<BoxView>(`/api/boxes/${profile}/${instance}`);

/** Polls a service until its status is one of `states`, recording every status seen. */
async function waitFor(name: string, states: string[], timeoutMs: number, seen: string[] = []): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await service(name);
    if (seen.at(-1) !== s.status) seen.push(s.status);
    if (states.includes(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`${name} stayed ${s.status} (${s.reason ?? ''}); wanted ${states.join('/')}; saw ${seen.join(' → ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function embed(name: string, sentence: string): Promise<{ status: number; embeddings?: number[][]; body: string }> {
  const res = await fetch(`${server.url}/embed`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ sentences: [sentence], model: name }) });
  const body = await res.text();
  return { status: res.status, body, ...(res.status === 200 ? { embeddings: (JSON.parse(body) as { embeddings: number[][] }).embeddings } : {}) };
}

async function createProfile(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await postJson(`${server.url}/api/profiles`, { name, ...boxes.profileKeys(), home_dir: homeDir, ...extra }, 'POST', key);
  assert.equal(res.status, 201, await res.clone().text());
}

async function createService(name: string, profile: string, extra: Record<string, unknown> = {}): Promise<ServiceView> {
  const res = await postJson(`${server.url}/api/services`, { name, task: 'feature-extraction', runtime: 'transformers', model: bert, profile, ...extra }, 'POST', key);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as ServiceView;
}

before(async () => {
  boxes = createNetnsBoxes(1);
  process.env.CORRAL_SSH_KNOWN_HOSTS = boxes.knownHosts;
  const [b] = boxes.boxes;
  // The gateway on this side's veth address: the box reaches it there, and nothing else does.
  server = await startTestServer({ host: b!.hostAddress, workers: 1 }, {
    CORRAL_AUTH: 'on', CORRAL_MONITOR_INTERVAL_MS: '250', CORRAL_BOX_RESTART_BACKOFF_MS: '200',
  });
  key = server.adminKey!;
  bert = join(server.home, 'tiny-bert');
  await writeTinyBert(bert, { task: 'feature-extraction' });
  homeDir = join(server.home, 'box-home');
  mkdirSync(homeDir, { recursive: true });
});

after(async () => {
  await server?.close();
  boxes?.destroy();
  delete process.env.CORRAL_SSH_KNOWN_HOSTS;
});

describe('services on a command box profile (network namespaces with sshd)', () => {
  test('the box is started, corral host runs on it over SSH, registers, and answers', async () => {
    const [b] = boxes.boxes;
    await createProfile('nsbox', { max_restarts: 1 });
    assert.equal((await box('nsbox', b!.name)).state, 'STOPPED');
    const created = await createService('box-bert', 'nsbox');
    assert.equal(created.status, 'SUBMITTED');
    const seen: string[] = [];
    const running = await waitFor('box-bert', ['RUNNING', 'FAILED'], 120_000, seen);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    assert.match(running.job_id!, new RegExp(`^${b!.name}:\\d+$`));
    assert.equal(new URL(running.endpoint!).hostname, b!.boxAddress, 'the host listens on the box');
    assert.deepEqual(boxes.starts(), [b!.name], 'the box was started once');
    const box1 = await box('nsbox', b!.name);
    assert.equal(box1.state, 'RUNNING');
    assert.equal(box1.address, b!.boxAddress);
    const answer = await embed('box-bert', 'The sun rises in the east.');
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.embeddings!.length, 1);
  });

  test('a preempted box is started again and its service comes back', async () => {
    const [b] = boxes.boxes;
    boxes.preempt(b!.name);
    const seen: string[] = [];
    await waitFor('box-bert', ['PREEMPTED', 'SUBMITTED', 'STARTING'], 30_000, seen);
    const back = await waitFor('box-bert', ['RUNNING', 'FAILED'], 120_000, seen);
    assert.equal(back.status, 'RUNNING', `${back.reason}; saw ${seen.join(' → ')}`);
    assert.ok(seen.includes('PREEMPTED') || seen.includes('SUBMITTED'), `saw ${seen.join(' → ')}`);
    assert.deepEqual(boxes.starts(), [b!.name, b!.name], 'the box was started a second time');
    assert.equal(server.corral.services.find('box-bert')!.restarts, 1);
    const answer = await embed('box-bert', 'Back after preemption.');
    assert.equal(answer.status, 200, answer.body);
  });

  test('past max_restarts a preempted service is FAILED with the reason', async () => {
    const [b] = boxes.boxes;
    boxes.preempt(b!.name);
    const failed = await waitFor('box-bert', ['FAILED'], 60_000);
    assert.match(failed.reason!, /preempted 2 times; gave up after 1 restarts \(max_restarts of profile 'nsbox'\)/);
    assert.equal(failed.endpoint, null);
    assert.deepEqual(boxes.starts(), [b!.name, b!.name], 'no third start');
    const refused = await embed('box-bert', 'anyone?');
    assert.equal(refused.status, 503, refused.body);
  });

  test('a box that fails to start fails its service with the start command\'s message', async () => {
    const [b] = boxes.boxes;
    boxes.failNextStart(b!.name, 'quota exceeded for GPUs in this zone');
    const res = await postJson(`${server.url}/api/services/box-bert/start`, {}, 'POST', key);
    assert.equal(res.status, 200, await res.clone().text());
    const failed = await waitFor('box-bert', ['FAILED'], 60_000);
    assert.match(failed.reason!, /quota exceeded for GPUs in this zone/);
  });

  test('stopping the only service on a box stops the box', async () => {
    const [b] = boxes.boxes;
    const res = await postJson(`${server.url}/api/services/box-bert/start`, {}, 'POST', key);
    assert.equal(res.status, 200, await res.clone().text());
    const running = await waitFor('box-bert', ['RUNNING', 'FAILED'], 120_000);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    const stop = await postJson(`${server.url}/api/services/box-bert/stop`, {}, 'POST', key);
    assert.equal(stop.status, 200, await stop.clone().text());
    const stopped = await waitFor('box-bert', ['STOPPED', 'FAILED'], 60_000);
    assert.equal(stopped.status, 'STOPPED', stopped.reason ?? '');
    assert.equal((await box('nsbox', b!.name)).state, 'STOPPED');
  });
});

describe('scale to zero and wake on request on a box', () => {
  /** The idle check on a clock an hour ahead: every idle service with idle_minutes 30 is due. */
  const reaperAnHourAhead = () => new IdleReaper({ registry: server.corral.services, runner: server.corral.runner, now: () => Date.now() + 3_600_000 });

  async function putToSleep(name: string): Promise<void> {
    assert.deepEqual(await reaperAnHourAhead().tick(), [name]);
    assert.equal((await service(name)).status, 'SLEEPING');
  }

  test('an idle service sleeps and its box is stopped; 20 requests wake it once and are all answered', async () => {
    const [b] = boxes.boxes;
    await createService('box-sleepy', 'nsbox', { idle_minutes: 30 });
    const running = await waitFor('box-sleepy', ['RUNNING', 'FAILED'], 120_000);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    const startsBefore = boxes.starts().length;
    await putToSleep('box-sleepy');
    assert.equal((await box('nsbox', b!.name)).state, 'STOPPED', 'a box whose services all sleep is stopped');
    const texts = Array.from({ length: 20 }, (_, i) => `held sentence ${i}`);
    const answers = await Promise.all(texts.map((t) => embed('box-sleepy', t)));
    assert.deepEqual(answers.map((a) => a.status), texts.map(() => 200), answers.find((a) => a.status !== 200)?.body ?? "");
    assert.ok(answers.every((a) => a.embeddings!.length === 1));
    assert.equal(boxes.starts().length, startsBefore + 1, 'one wake started the box once');
    const woken = await service('box-sleepy');
    assert.equal(woken.status, 'RUNNING');
    assert.equal(new URL(woken.endpoint!).hostname, b!.boxAddress);
  });

  test('past wake_max_queued the requests a waking box service cannot hold get 429', async () => {
    const patch = await postJson(`${server.url}/api/services/box-sleepy`, { wake_max_queued: 3 }, 'PATCH', key);
    assert.equal(patch.status, 200, await patch.clone().text());
    await putToSleep('box-sleepy');
    const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => embed('box-sleepy', `text ${i}`)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 429, 429]);
    for (const a of answers.filter((x) => x.status === 429)) assert.equal((JSON.parse(a.body) as { code: string }).code, 'WAKE_QUEUE_FULL');
  });

  test('a box that cannot start fails every held request with its reason', async () => {
    const [b] = boxes.boxes;
    await putToSleep('box-sleepy');
    boxes.failNextStart(b!.name, 'no spot capacity in this zone');
    const answers = await Promise.all([0, 1, 2].map((i) => embed('box-sleepy', `doomed ${i}`)));
    assert.deepEqual(answers.map((a) => a.status), [503, 503, 503]);
    for (const a of answers) assert.match(a.body, /did not wake: it is FAILED: .*no spot capacity in this zone/);
  });
});
