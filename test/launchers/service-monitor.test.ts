/**
 * The service monitor. First its races, deterministically, with the real
 * registry and a scheduler whose answer the test holds back: a host that
 * registers (or reports a failure) while squeue runs is not overwritten by the
 * older report. Then on the real single-node Slurm cluster
 * (scripts/slurm/setup-local-cluster.sh): a RUNNING service whose job is
 * suspended stays RUNNING at the same endpoint with a note in `reason`, and
 * loses the note on resume; one whose job is requeued goes back to SUBMITTED
 * without an endpoint, then RUNNING again when the job's next run registers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { JobReport, Launcher } from '../../src/launchers/launcher.js';
import { ServiceMonitor } from '../../src/services/service-monitor.js';
import { startSlurmGateway } from '../helpers/slurm-gateway.js';
import { postJson, type TestServer } from '../helpers/test-server.js';

interface ServiceView { id: string; name: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null }

let server: TestServer;
let bert: string;
let homeDir: string;

const get = async (name: string) => (await (await fetch(`${server.url}/api/services/${name}`)).json()) as ServiceView;

/** Polls a service until `done` holds, recording every status seen; throws at the deadline with the last view. */
async function waitUntil(name: string, what: string, done: (s: ServiceView) => boolean, timeoutMs: number, seen: string[] = []): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await get(name);
    if (seen.at(-1) !== s.status) seen.push(s.status);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`${name} is ${s.status} (${s.reason ?? 'no reason'}, endpoint ${s.endpoint}); waited for ${what}; seen ${seen.join(' → ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const waitFor = (name: string, states: string[], timeoutMs: number, seen: string[] = []) =>
  waitUntil(name, states.join('/'), (s) => states.includes(s.status), timeoutMs, seen);

const slurmState = (jobId: string) => execFileSync('squeue', ['-h', '-j', jobId, '-o', '%T']).toString().trim();
const restarts = (jobId: string) => Number(/Restarts=(\d+)/.exec(execFileSync('scontrol', ['-o', 'show', 'job', jobId]).toString())?.[1]);
const embed = (name: string) => postJson(`${server.url}/embed`, { sentences: ['The sun rises in the east.'], model: name });

before(async () => {
  ({ server, bert, homeDir } = await startSlurmGateway());
  const res = await postJson(`${server.url}/api/profiles`, { name: 'mon', type: 'slurm', host: 'localhost', home_dir: homeDir, partition: 'debug', time_limit: '10', cpus: 1, memory: '2G' });
  assert.equal(res.status, 201, await res.clone().text());
});

after(async () => {
  try {
    execFileSync('scancel', ['--name', 'corral-mon-bert']);
  } catch { /* nothing left */ }
  await server?.close();
});

describe('monitor races (real registry, scheduler answers held back)', () => {
  /** A launcher whose status() answers for job `jobId` only when the test says so (and not at all for other jobs). */
  function heldLauncher(jobId: string) {
    let answer!: (report: JobReport) => void;
    let asked!: () => void;
    const wasAsked = new Promise<void>((r) => { asked = r; });
    const launcher: Launcher = {
      type: 'slurm',
      launch: () => Promise.reject(new Error('not here')),
      stop: () => Promise.resolve(),
      status: (id) => {
        if (id !== jobId) return Promise.reject(new Error(`not job ${jobId}`));
        asked();
        return new Promise<JobReport>((r) => { answer = r; });
      },
    };
    return { launcher, wasAsked, answer: (report: JobReport) => answer(report) };
  }
  /** One monitor pass that asks `held` for job states. */
  const tickWith = (held: { launcher: Launcher }) =>
    new ServiceMonitor(server.corral.services, server.corral.profiles, () => held.launcher, server.corral.logger).tick();


  let nextJob = 999_000;
  /** A job-backed service record in `status`, with a job id of its own that no real job has. */
  async function fakeService(name: string, status: 'SUBMITTED' | 'STARTING' | 'RUNNING', endpoint: string | null = null) {
    const { services } = server.corral;
    const created = await services.create({ name, runtime: 'transformers', task: 'feature-extraction', model: bert, modelPath: bert, revision: null, options: {}, replicas: 1, batching: {}, profile: 'mon' }, status);
    return services.setStatus(created.id, status, { jobId: String(++nextJob), endpoint });
  }

  before(() => server.corral.monitor.stop()); // the gateway's own monitor would ask the real Slurm about jobs 999xxx
  after(() => server.corral.monitor.start());

  test('a host that registers while squeue runs stays RUNNING (SUBMITTED → STARTING is not applied over it)', async () => {
    const service = await fakeService('race-register', 'SUBMITTED');
    const held = heldLauncher(service.jobId!);
    const monitor = new ServiceMonitor(server.corral.services, server.corral.profiles, () => held.launcher, server.corral.logger);
    const tick = monitor.tick();
    await held.wasAsked;
    await server.corral.runner.register(service, { endpoint: 'http://127.0.0.1:7' });
    held.answer({ state: 'STARTING' });
    await tick;
    const after = server.corral.services.get(service.id);
    assert.equal(after.status, 'RUNNING');
    assert.equal(after.endpoint, 'http://127.0.0.1:7');
    // On fresh data the next tick leaves it RUNNING too.
    const again = heldLauncher(service.jobId!);
    const next = tickWith(again);
    await again.wasAsked;
    again.answer({ state: 'STARTING' });
    await next;
    assert.equal(server.corral.services.get(service.id).status, 'RUNNING');
    await server.corral.services.delete(service.id);
  });

  test('a stale PENDING read does not send a host that registered meanwhile back to SUBMITTED', async () => {
    const service = await fakeService('race-pending', 'STARTING');
    const held = heldLauncher(service.jobId!);
    const tick = tickWith(held);
    await held.wasAsked;
    await server.corral.runner.register(service, { endpoint: 'http://127.0.0.1:8' });
    held.answer({ state: 'SUBMITTED', reason: 'PENDING: Priority' });
    await tick;
    const after = server.corral.services.get(service.id);
    assert.equal(after.status, 'RUNNING');
    assert.equal(after.endpoint, 'http://127.0.0.1:8');
    await server.corral.services.delete(service.id);
  });

  test("a host's failure reported while squeue runs keeps its reason over the job's exit code", async () => {
    const service = await fakeService('race-failed', 'STARTING');
    const held = heldLauncher(service.jobId!);
    const tick = tickWith(held);
    await held.wasAsked;
    await server.corral.runner.register(service, { error: 'the model could not be loaded: no weights' });
    held.answer({ state: 'FAILED', reason: 'Slurm job FAILED, exit code 1' });
    await tick;
    const after = server.corral.services.get(service.id);
    assert.equal(after.status, 'FAILED');
    assert.equal(after.reason, 'the model could not be loaded: no weights');
    await server.corral.services.delete(service.id);
  });

  test('a RUNNING service whose job is back in the queue goes SUBMITTED without its endpoint', async () => {
    const service = await fakeService('requeued-fake', 'RUNNING', 'http://127.0.0.1:9');
    const held = heldLauncher(service.jobId!);
    const tick = tickWith(held);
    await held.wasAsked;
    held.answer({ state: 'SUBMITTED', reason: 'PENDING: BeginTime' });
    await tick;
    const after = server.corral.services.get(service.id);
    assert.equal(after.status, 'SUBMITTED');
    assert.equal(after.endpoint, null);
    assert.equal(after.reason, 'job requeued by the scheduler (PENDING: BeginTime)');
    // The job's next run registers again.
    assert.equal((await server.corral.runner.register(after, { endpoint: 'http://127.0.0.1:10' })).status, 'RUNNING');
    await server.corral.services.delete(service.id);
  });
});

describe('a service on the real cluster: suspend, resume, requeue', () => {
  let jobId: string;
  let endpoint: string;

  test('the service comes up RUNNING; its job is requeueable', async () => {
    const res = await postJson(`${server.url}/api/services`, { task: 'feature-extraction', runtime: 'transformers', name: 'mon-bert', model: bert, profile: 'mon' });
    assert.equal(res.status, 201, await res.clone().text());
    const running = await waitFor('mon-bert', ['RUNNING', 'FAILED', 'STOPPED', 'TIMEOUT'], 180_000);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    assert.ok(running.job_id && running.endpoint);
    jobId = running.job_id;
    endpoint = running.endpoint;
    assert.equal(running.reason, null);
    assert.match(execFileSync('scontrol', ['-o', 'show', 'job', jobId]).toString(), /\bRequeue=1\b/);
    assert.equal((await embed('mon-bert')).status, 200);
  });

  test('scontrol suspend: still RUNNING at the same endpoint, reason says SUSPENDED; resume clears it', async () => {
    execFileSync('scontrol', ['suspend', jobId]);
    assert.equal(slurmState(jobId), 'SUSPENDED');
    const suspended = await waitUntil('mon-bert', 'a SUSPENDED reason', (s) => s.reason !== null, 30_000);
    assert.equal(suspended.status, 'RUNNING');
    assert.equal(suspended.endpoint, endpoint);
    assert.equal(suspended.reason, 'job SUSPENDED by Slurm: it does not answer until Slurm resumes it');

    const during = embed('mon-bert'); // goes to the paused process, which answers once resumed

    execFileSync('scontrol', ['resume', jobId]);
    assert.equal(slurmState(jobId), 'RUNNING');
    const resumed = await waitUntil('mon-bert', 'the reason cleared', (s) => s.reason === null, 30_000);
    assert.equal(resumed.status, 'RUNNING');
    assert.equal(resumed.endpoint, endpoint);
    assert.equal((await embed('mon-bert')).status, 200, 'the same process answers again');
    assert.equal((await during).status, 200, 'a request sent while suspended is answered after resume');
  });

  test('scontrol requeue: SUBMITTED with no endpoint, then RUNNING again when the next run registers', async () => {
    assert.equal(restarts(jobId), 0);
    execFileSync('scontrol', ['requeue', jobId]);
    const requeued = await waitFor('mon-bert', ['SUBMITTED', 'FAILED', 'STOPPED', 'TIMEOUT'], 60_000);
    assert.equal(requeued.status, 'SUBMITTED', requeued.reason ?? '');
    assert.equal(requeued.endpoint, null);
    assert.equal(requeued.job_id, jobId, 'the same job runs again');
    assert.match(requeued.reason ?? '', /^job requeued by the scheduler \((PENDING|REQUEUED)\b/);
    const refused = await embed('mon-bert');
    assert.equal(refused.status, 503, 'no request goes to the old endpoint');
    assert.match(((await refused.json()) as { error: string }).error, /is SUBMITTED/);

    // Slurm holds a requeued job back (Reason=BeginTime) for a while; let it start now.
    execFileSync('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now']);
    const seen: string[] = [];
    const back = await waitFor('mon-bert', ['RUNNING', 'FAILED', 'STOPPED', 'TIMEOUT'], 180_000, seen);
    assert.equal(back.status, 'RUNNING', `${back.reason ?? ''}; seen ${seen.join(' → ')}`);
    assert.ok(back.endpoint, 'the next run registered its endpoint');
    assert.equal(back.reason, null);
    assert.equal(back.job_id, jobId);
    assert.equal(restarts(jobId), 1, 'it is the job\'s second run that registered');
    assert.equal(slurmState(jobId), 'RUNNING');
    assert.equal((await embed('mon-bert')).status, 200);
  });

  test('stop → STOPPED', async () => {
    assert.equal((await fetch(`${server.url}/api/services/mon-bert/stop`, { method: 'POST' })).status, 200);
    const stopped = await waitFor('mon-bert', ['STOPPED', 'FAILED', 'TIMEOUT'], 60_000);
    assert.equal(stopped.status, 'STOPPED', stopped.reason ?? '');
    assert.equal(stopped.endpoint, null);
  });
});
