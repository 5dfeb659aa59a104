// GET /api/events on a real gateway (auth on, one worker): the snapshot, one
// event per change to a service, model, worker or job, Last-Event-ID, the
// heartbeat, clean-up on disconnect and what a limited key sees. Then the job
// queues on their own (BullMQ on the real Redis) publishing to an EventHub.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { EventHub, type HubEvent } from '../../src/events/index.js';
import { BullMqJobQueue } from '../../src/jobs/bullmq-job-queue.js';
import { InProcessJobQueue, type JobSpec, type JobView } from '../../src/jobs/index.js';
import type { JobOutcome } from '../../src/jobs/execute-job.js';
import type { WorkerPool } from '../../src/workers/index.js';
import { bearer, createKey, startAuthServer } from '../auth/auth-helpers.js';
import { cleanRedisKeys, irisBody, newPrefix, waitFor } from '../helpers/scale-out.js';
import { EventStream } from '../helpers/event-stream.js';
import { postJson, uploadModel, type TestServer } from '../helpers/test-server.js';

const REDIS_URL = process.env.CORRAL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';


let server: TestServer & { adminKey: string };
/** Hub listeners of the gateway itself, before any stream opens. */
let baseline: number;
const streams: EventStream[] = [];
const open = async (headers: Record<string, string> = bearer(server.adminKey), query = '') => {
  const stream = await EventStream.open(`${server.url}/api/events${query ? `?${query}` : ''}`, headers);
  streams.push(stream);
  return stream;
};
const adminGet = async (path: string) => (await fetch(`${server.url}${path}`, { headers: bearer(server.adminKey) })).json() as Promise<any>;
const describeModel = async (name: string, text: string) =>
  assert.equal((await postJson(`${server.url}/api/v1/models/${name}`, { model_description: text }, 'POST', server.adminKey)).status, 200);
const deleteModel = async (name: string) =>
  assert.equal((await fetch(`${server.url}/api/v1/models/${name}`, { method: 'DELETE', headers: bearer(server.adminKey) })).status, 200);

before(async () => {
  server = await startAuthServer({ workers: 1, eventsHeartbeatMs: 100, eventsHistory: 8 });
  assert.equal((await uploadModel(server.url, 'iris.onnx', server.models.iris!, server.adminKey)).status, 201);
  await waitFor('the worker to be ready', () => server.corral.dispatcher.workers().every((w) => w.state === 'ready'), 30_000);
  baseline = server.corral.events.subscribers;
});
after(async () => {
  for (const stream of streams) stream.close();
  await server.close();
});

describe('GET /api/events', () => {
  test('starts with a snapshot: services, models, workers and jobs as their list routes show them', async () => {
    const stream = await open();
    assert.equal(stream.res.status, 200);
    assert.equal(stream.res.headers.get('content-type'), 'text/event-stream');
    const first = await stream.next('the snapshot');
    assert.equal(first.event, 'snapshot');
    assert.equal(first.id, server.corral.events.lastId);
    assert.deepEqual(Object.keys(first.data).sort(), ['jobs', 'models', 'services', 'workers']);
    assert.deepEqual(first.data.services, await adminGet('/api/services'));
    const { http_status: _status, ...iris } = await adminGet('/api/v1/models/iris.onnx');
    assert.deepEqual(first.data.models, [iris]);
    assert.deepEqual(first.data.workers.map((w: any) => [w.id, w.state]), (await adminGet('/api/workers')).map((w: any) => [w.id, w.state]));
    assert.deepEqual(first.data.jobs, []);
    stream.close();
  });

  test('model and service changes arrive as they happen, each change with the next id', async () => {
    const stream = await open();
    const snapshot = await stream.next('the snapshot');
    const from = stream.events.length;

    await describeModel('iris.onnx', 'watched');
    const model = await stream.next('the described model', (e) => e.event === 'model');
    assert.equal(model.data.model, 'iris.onnx');
    assert.equal(model.data.description, 'watched');
    const { http_status: _status, ...iris } = await adminGet('/api/v1/models/iris.onnx');
    assert.deepEqual(model.data, iris);
    const asService = await stream.next('iris as a service', (e) => e.event === 'service');
    assert.equal(asService.id, model.id, 'one change, one id');
    assert.deepEqual(asService.data, await adminGet('/api/services/iris.onnx'));

    assert.equal((await uploadModel(server.url, 'iris2.onnx', server.models.iris!, server.adminKey)).status, 201);
    const uploaded = await stream.next('the uploaded model', (e) => e.event === 'model' && e.data.model === 'iris2.onnx');
    assert.equal(uploaded.data.version, 1);
    await deleteModel('iris2.onnx');
    const deleted = await stream.next('the deleted model', (e) => e.event === 'model-deleted');
    assert.deepEqual(deleted.data, { model: 'iris2.onnx' });
    const deletedService = await stream.next('its service deleted', (e) => e.event === 'service-deleted');
    assert.deepEqual(deletedService.data, { id: 'onnx:iris2.onnx', name: 'iris2.onnx' });
    assert.equal(deletedService.id, deleted.id);

    const stopRes = await fetch(`${server.url}/api/services/keyterms/stop`, { method: 'POST', headers: bearer(server.adminKey) });
    assert.equal(stopRes.status, 200);
    const stopped = await stream.next('keyterms stopped', (e) => e.event === 'service' && e.data.name === 'keyterms');
    assert.equal(stopped.data.status, 'STOPPED');
    assert.deepEqual(stopped.data, await adminGet('/api/services/keyterms'));
    const ocrId = (await adminGet('/api/services/ocr')).id;
    assert.equal((await fetch(`${server.url}/api/services/ocr`, { method: 'DELETE', headers: bearer(server.adminKey) })).status, 200);
    const gone = await stream.next('ocr deleted', (e) => e.event === 'service-deleted');
    assert.deepEqual(gone.data, { id: ocrId, name: 'ocr' });

    // Ids: above the snapshot's, one per change (the messages of one change share it), never going back.
    const ids = stream.events.slice(from).map((e) => e.id!);
    assert.ok(ids.every((id, i) => id > snapshot.id! && (i === 0 || id >= ids[i - 1]!)), `ids ${ids.join(',')}`);
    const distinct = [...new Set(ids)];
    assert.deepEqual(distinct, distinct.map((_, i) => distinct[0]! + i), `ids ${ids.join(',')} go up by one per change`);
    stream.close();
  });

  test('a job: queued, active, completed, as GET /api/jobs lists it (no result)', async () => {
    const stream = await open();
    await stream.next('the snapshot');
    const res = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([[5.1, 3.5, 1.4, 0.2]]) }, 'POST', server.adminKey);
    assert.equal(res.status, 202);
    const { id } = await res.json() as JobView;
    const states: string[] = [];
    for (;;) {
      const event = await stream.next(`job ${id} to finish (saw ${states.join(', ')})`, (e) => e.event === 'job' && e.data.id === id);
      states.push(event.data.state);
      assert.equal('result' in event.data, false);
      assert.equal('owner' in event.data, false);
      if (event.data.state === 'completed') {
        assert.deepEqual(event.data, (await adminGet('/api/jobs?limit=1')).jobs[0]);
        assert.equal(event.data.status_code, 200);
        break;
      }
    }
    assert.deepEqual(states, ['queued', 'active', 'completed']);
    stream.close();
  });

  test('a killed worker: exited, then starting, then ready again', async () => {
    const stream = await open();
    await stream.next('the snapshot');
    const pid = (server.corral.dispatcher as WorkerPool).killWorker(0);
    const exited = await stream.next('worker-0 exited', (e) => e.event === 'worker' && e.data.state === 'exited');
    assert.equal(exited.data.id, 'worker-0');
    assert.equal(exited.data.pid, pid);
    assert.equal(exited.data.restarts, 1);
    const starting = await stream.next('worker-0 starting', (e) => e.event === 'worker' && e.data.state === 'starting');
    assert.notEqual(starting.data.pid, pid);
    assert.equal(starting.data.restarts, 1);
    const ready = await stream.next('worker-0 ready', (e) => e.event === 'worker' && e.data.state === 'ready');
    assert.deepEqual([ready.data.id, ready.data.pid, ready.data.restarts], ['worker-0', starting.data.pid, 1]);
    stream.close();
  });

  test('Last-Event-ID: the missed events and no snapshot; an id no longer kept (or never given) gets a fresh snapshot', async () => {
    const first = await open();
    const snapshot = await first.next('the snapshot');
    first.close();
    await describeModel('iris.onnx', 'while away');
    const resumed = await open({ ...bearer(server.adminKey), 'last-event-id': String(snapshot.id) });
    const missed = await resumed.next('the missed model change', (e) => e.event === 'model');
    assert.equal(missed.data.description, 'while away');
    // Everything after the id it gave, from the very next one, and no snapshot.
    assert.equal(resumed.events[0]!.id, snapshot.id! + 1);
    assert.notEqual(resumed.events[0]!.event, 'snapshot');
    // Still live after the replay.
    await describeModel('iris.onnx', 'back');
    assert.equal((await resumed.next('the live change', (e) => e.event === 'model')).data.description, 'back');
    assert.equal(resumed.events.filter((e) => e.event === 'snapshot').length, 0);
    resumed.close();

    // Nine changes overflow a history of eight events.
    const old = server.corral.events.lastId;
    for (let i = 0; i < 9; i++) await describeModel('iris.onnx', `change ${i}`);
    for (const lastEventId of [String(old), '1', 'not-a-number', String(server.corral.events.lastId + 5)]) {
      const stream = await open({ ...bearer(server.adminKey), 'last-event-id': lastEventId });
      const fresh = await stream.next(`a snapshot for Last-Event-ID ${lastEventId}`);
      assert.equal(fresh.event, 'snapshot', `Last-Event-ID ${lastEventId}`);
      assert.equal(fresh.id, server.corral.events.lastId);
      assert.equal(fresh.data.models[0].description, 'change 8');
      stream.close();
    }
  });

  test('a comment line every heartbeat interval (100 ms in this suite)', async () => {
    const stream = await open();
    await stream.next('the snapshot');
    await waitFor(`two heartbeats (have ${stream.comments.length})`, () => stream.comments.length >= 2, 10_000, 20);
    assert.deepEqual(stream.comments.slice(0, 2), ['heartbeat', 'heartbeat']);
    stream.close();
  });

  test('a client that disconnects leaves no listener behind; HEAD ends at once', async () => {
    for (const stream of streams) stream.close();
    const listeners = () => server.corral.events.subscribers - baseline;
    await waitFor(`earlier streams to be gone (${listeners()} left)`, () => listeners() === 0);
    const three = [await open(), await open(), await open()];
    for (const stream of three) await stream.next('the snapshot');
    assert.equal(listeners(), 3);
    for (const stream of three) stream.close();
    await waitFor(`every listener to go (${listeners()} left)`, () => listeners() === 0);
    const head = await fetch(`${server.url}/api/events`, { method: 'HEAD', headers: bearer(server.adminKey) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/event-stream');
    assert.equal(listeners(), 0);
  });

  test('a key limited to iris* sees only those models and services; jobs only with infer, and only its own', async () => {
    const reader = (await createKey(server.url, server.adminKey, { name: 'iris-reader', scopes: ['read'], models: ['iris*'] })).key;
    const runner = (await createKey(server.url, server.adminKey, { name: 'iris-runner', scopes: ['read', 'infer'], models: ['iris*'] })).key;
    const other = (await createKey(server.url, server.adminKey, { name: 'other-runner', scopes: ['read', 'infer'] })).key;
    // ?token= is how a browser's EventSource authenticates.
    const readerStream = await open({}, `token=${reader}`);
    assert.equal(readerStream.res.status, 200);
    const runnerStream = await open(bearer(runner));
    const otherStream = await open(bearer(other));
    const snapshot = await readerStream.next('the reader snapshot');
    assert.deepEqual(snapshot.data.models.map((m: any) => m.model), ['iris.onnx']);
    assert.deepEqual(snapshot.data.services.map((s: any) => s.name), ['iris.onnx']);
    assert.deepEqual(snapshot.data.jobs, []);
    assert.equal((await otherStream.next('the other snapshot')).data.services.some((s: any) => s.name === 'embed'), true);
    await runnerStream.next('the runner snapshot');

    // A model it may not see, then one it may: only the second reaches it.
    assert.equal((await uploadModel(server.url, 'other.onnx', server.models.iris!, server.adminKey)).status, 201);
    assert.equal((await uploadModel(server.url, 'iris3.onnx', server.models.iris!, server.adminKey)).status, 201);
    const iris3 = await readerStream.next('iris3', (e) => e.event === 'model' && e.data.model === 'iris3.onnx');
    assert.equal((await otherStream.next('other.onnx for an unlimited key', (e) => e.event === 'model')).data.model, 'other.onnx');
    await deleteModel('other.onnx');
    await deleteModel('iris3.onnx');
    const gone = await readerStream.next('iris3 deleted', (e) => e.event === 'model-deleted');
    assert.deepEqual(gone.data, { model: 'iris3.onnx' });
    assert.ok(gone.id! > iris3.id!);

    // The runner's job reaches the runner, not the other key nor the reader; and the other way round.
    const submit = async (key: string) => {
      const res = await postJson(`${server.url}/api/jobs`, { service: 'iris.onnx', input: irisBody([[6.7, 3.0, 5.2, 2.3]]) }, 'POST', key);
      assert.equal(res.status, 202);
      return (await res.json() as JobView).id;
    };
    const runnerJob = await submit(runner);
    await runnerStream.next('its own job completed', (e) => e.event === 'job' && e.data.id === runnerJob && e.data.state === 'completed');
    const otherJob = await submit(other);
    await otherStream.next('its own job completed', (e) => e.event === 'job' && e.data.id === otherJob && e.data.state === 'completed');
    // A last change every stream sees marks the end of what they can have been sent.
    await describeModel('iris.onnx', 'marker');
    for (const stream of [readerStream, runnerStream, otherStream]) await stream.next('the marker', (e) => e.event === 'model' && e.data.description === 'marker');
    assert.deepEqual(otherStream.events.filter((e) => e.event === 'job').map((e) => e.data.id), [otherJob, otherJob, otherJob]);
    assert.deepEqual(runnerStream.events.filter((e) => e.event === 'job').map((e) => e.data.id), [runnerJob, runnerJob, runnerJob]);
    assert.deepEqual(readerStream.events.filter((e) => e.event.startsWith('job')), []);
    const readerSaw = readerStream.events.map((e) => JSON.stringify(e.data));
    assert.equal(readerSaw.some((text) => text.includes('other.onnx') || text.includes('"embed"')), false, 'the limited key saw a model outside iris*');
  });
});

describe('GET /api/events follows its caller\'s key as it is now', () => {
  const patchKey = async (id: string, body: Record<string, unknown>) =>
    assert.equal((await postJson(`${server.url}/api/keys/${id}`, body, 'PATCH', server.adminKey)).status, 200);

  test('revoked (a header key and a ?token= key): one unauthorized event, the stream ends, reconnecting is a 401', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'watcher', scopes: ['read'] });
    const byHeader = await open(bearer(key.key));
    const byQuery = await open({}, `token=${key.key}`);
    await byHeader.next('the snapshot', (e) => e.event === 'snapshot');
    await byQuery.next('the snapshot', (e) => e.event === 'snapshot');
    assert.equal((await fetch(`${server.url}/api/keys/${key.id}`, { method: 'DELETE', headers: bearer(server.adminKey) })).status, 200);
    for (const stream of [byHeader, byQuery]) {
      const ended = await stream.next('the unauthorized event', (e) => e.event !== 'snapshot');
      assert.equal(ended.event, 'unauthorized');
      assert.equal(ended.data.code, 'API_KEY_REVOKED');
      assert.match(ended.data.error, /API key 'watcher' was revoked/);
      await stream.serverEnded('after revocation');
    }
    const again = await fetch(`${server.url}/api/events`, { headers: bearer(key.key) });
    assert.equal(again.status, 401);
    const refused = await again.json() as { code: string; error: string };
    assert.equal(refused.code, 'API_KEY_REVOKED');
    assert.match(refused.error, /API key 'watcher' was revoked/);
  });

  test('narrowed to fewer models: changes to the others stop; its read scope taken away: the stream ends with FORBIDDEN', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'narrowed', scopes: ['read'] });
    const stream = await open(bearer(key.key));
    await stream.next('the snapshot', (e) => e.event === 'snapshot');
    await patchKey(key.id, { models: ['iris*'] });
    assert.equal((await uploadModel(server.url, 'hidden.onnx', server.models.iris!, server.adminKey)).status, 201);
    await deleteModel('hidden.onnx');
    await describeModel('iris.onnx', 'after narrowing');
    await stream.next('the marker', (e) => e.event === 'model' && e.data.description === 'after narrowing');
    assert.deepEqual(stream.events.filter((e) => JSON.stringify(e.data).includes('hidden.onnx')), [], 'a model outside iris* reached the narrowed key');

    await patchKey(key.id, { scopes: ['infer'] });
    const ended = await stream.next('the unauthorized event', (e) => e.event === 'unauthorized');
    assert.deepEqual(ended.data, { code: 'FORBIDDEN', error: "API key 'narrowed' no longer has the read scope." });
    await stream.serverEnded('after the read scope was taken away');
  });

  test('a web UI session: logging out ends its stream at the next heartbeat', async () => {
    const key = await createKey(server.url, server.adminKey, { name: 'browser', scopes: ['read'] });
    const login = await postJson(`${server.url}/api/session`, { key: key.key });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const stream = await open({ cookie });
    assert.equal(stream.res.status, 200);
    await stream.next('the snapshot', (e) => e.event === 'snapshot');
    assert.equal((await fetch(`${server.url}/api/session`, { method: 'DELETE', headers: { cookie, origin: server.url } })).status, 204);
    const ended = await stream.next('the unauthorized event', (e) => e.event === 'unauthorized');
    assert.equal(ended.data.code, 'UNAUTHENTICATED');
    await stream.serverEnded('after logout');
  });
});

describe('job queues publish to the hub', () => {
  /** Every job event the hub publishes; `of(id)` those of one job. */
  const collect = (hub: EventHub) => {
    const all: HubEvent[] = [];
    hub.subscribe((e) => { if (e.type === 'job' || e.type === 'job-deleted') all.push(e); });
    return { of: (id: string) => all.filter((e) => (e.type === 'job' || e.type === 'job-deleted') && e.job.id === id) };
  };
  const states = (events: HubEvent[]) => events.map((e) => (e.type === 'job' ? e.job.state : e.type));

  test('BullMQ: one event per state of a job (queued, active, completed), whatever Redis repeats', async () => {
    const prefix = newPrefix();
    const hub = new EventHub();
    const runs: Array<(o: JobOutcome) => void> = [];
    const queue = new BullMqJobQueue({
      redisUrl: REDIS_URL, prefix, concurrency: 1, maxQueued: 10, resultTtlSeconds: 60, attempts: 1, lockDurationMs: 5_000,
      logger: pino({ level: 'silent' }), events: hub,
      execute: (_spec: JobSpec) => new Promise<JobOutcome>((resolve) => { runs.push(resolve); }),
    });
    try {
      const events = collect(hub);
      // The first job holds the only slot, so the second is seen queued.
      await queue.add({ service: 'iris', input: 1 });
      await waitFor('the first run', () => runs.length === 1);
      const second = await queue.add({ service: 'iris', input: 2, owner: 'key-a' });
      const seen = () => events.of(second.id);
      await waitFor(`job queued (saw ${states(seen())})`, () => seen().length === 1);
      runs[0]!({ ok: true, statusCode: 200, body: 1 });
      await waitFor(`job active (saw ${states(seen())})`, () => seen().length === 2 && runs.length === 2);
      runs[1]!({ ok: true, statusCode: 200, body: 2 });
      await waitFor(`job completed (saw ${states(seen())})`, () => seen().length === 3);
      assert.deepEqual(seen().map((e) => e.type === 'job' && [e.job.state, e.job.owner]), [['queued', 'key-a'], ['active', 'key-a'], ['completed', 'key-a']]);
      const ids = seen().map((e) => e.id);
      assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!, `ids ${ids}`);
      // A third job's events come after every Redis event of the second: none repeated its state.
      const third = await queue.add({ service: 'iris', input: 3 });
      await waitFor('the third run', () => runs.length === 3);
      await waitFor(`third job active (saw ${states(events.of(third.id))})`, () => states(events.of(third.id)).includes('active'));
      assert.deepEqual(states(seen()), ['queued', 'active', 'completed']);
      runs[2]!({ ok: true, statusCode: 200, body: 3 });
    } finally {
      await queue.close();
      await cleanRedisKeys(REDIS_URL, prefix);
    }
  });

  test('in-process: queued, active, completed, then deleted once its result TTL has passed', async () => {
    const hub = new EventHub();
    const events = collect(hub);
    const queue = new InProcessJobQueue({ execute: async () => ({ ok: true, statusCode: 200, body: 'x' }), concurrency: 1, maxQueued: 10, resultTtlMs: 30, events: hub });
    try {
      const job = await queue.add({ service: 'iris', input: 1 });
      await waitFor(`the job forgotten (saw ${states(events.of(job.id))})`, () => events.of(job.id).some((e) => e.type === 'job-deleted'));
      assert.deepEqual(states(events.of(job.id)), ['queued', 'active', 'completed', 'job-deleted']);
      assert.equal(await queue.get(job.id), undefined);
    } finally {
      await queue.close();
    }
  });
});
