/**
 * Wake on request on a real single-node Slurm cluster (scripts/slurm/setup-local-cluster.sh):
 * a service whose job ran out of time (TIMEOUT) is launched again by the next
 * request, which is held until the new job's host registers and then answered.
 *
 * The job's time limit is cut to one second once it runs (scontrol update, as an
 * admin would), so Slurm times it out at its next periodic check rather than after
 * the profile's minutes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createHpcProfile, startSlurmGateway, stopSlurmGateway } from '../helpers/slurm-gateway.js';
import { postJson, type TestServer } from '../helpers/test-server.js';

interface ServiceView { id: string; name: string; status: string; reason: string | null; job_id: string | null; endpoint: string | null; wake_on_request: boolean; held_requests: number }

let server: TestServer;
let bert: string;

const get = async (name: string) => (await (await fetch(`${server.url}/api/services/${name}`)).json()) as ServiceView;

/** Polls a service until its status is one of `states`. */
async function waitFor(name: string, states: string[], timeoutMs: number): Promise<ServiceView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await get(name);
    if (states.includes(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`${name} stayed ${s.status} (${s.reason ?? ''}); wanted ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const embed = async (text: string) => postJson(`${server.url}/embed`, { sentences: [text], service: 'wake-slurm' });

before(async () => {
  const gateway = await startSlurmGateway();
  ({ server, bert } = gateway);
  await createHpcProfile(gateway);
});

after(async () => {
  await stopSlurmGateway(server, ['wake-slurm']);
});

describe('wake on request on a Slurm profile', () => {
  test('a service whose job timed out (TIMEOUT) is launched again by the next request, which it answers', async () => {
    const res = await postJson(`${server.url}/api/services`, { name: 'wake-slurm', task: 'feature-extraction', runtime: 'transformers', model: bert, profile: 'hpc', wake_on_request: true });
    assert.equal(res.status, 201, await res.clone().text());
    const created = (await res.json()) as ServiceView;
    assert.equal(created.wake_on_request, true);
    const running = await waitFor('wake-slurm', ['RUNNING', 'FAILED'], 180_000);
    assert.equal(running.status, 'RUNNING', running.reason ?? '');
    const first = await embed('the same sentence');
    assert.equal(first.status, 200, await first.clone().text());
    const expected = ((await first.json()) as { embeddings: number[][] }).embeddings;

    execFileSync('scontrol', ['update', `jobid=${running.job_id}`, 'TimeLimit=0:01']);
    const timedOut = await waitFor('wake-slurm', ['TIMEOUT', 'FAILED', 'STOPPED'], 150_000);
    assert.equal(timedOut.status, 'TIMEOUT', timedOut.reason ?? '');
    assert.equal(timedOut.endpoint, null);

    const [answer, seenHeld] = await Promise.all([
      embed('the same sentence'),
      (async () => {
        // While the new job queues and starts, the request is held (and shown).
        const s = await waitFor('wake-slurm', ['SUBMITTED', 'STARTING', 'RUNNING'], 30_000);
        return s.status === 'RUNNING' ? -1 : s.held_requests;
      })(),
    ]);
    assert.equal(answer.status, 200, await answer.clone().text());
    assert.deepEqual(((await answer.json()) as { embeddings: number[][] }).embeddings, expected);
    assert.ok(seenHeld === 1 || seenHeld === -1, `held_requests while waking: ${seenHeld}`);

    const woken = await get('wake-slurm');
    assert.equal(woken.status, 'RUNNING');
    assert.ok(woken.job_id && woken.job_id !== running.job_id, 'a fresh job');
    assert.equal(woken.held_requests, 0);
    const logs = (await (await fetch(`${server.url}/api/services/wake-slurm/logs`)).json()) as { lines: Array<{ text: string }> };
    const events = logs.lines.map((l) => l.text);
    assert.ok(events.includes('TIMEOUT → SUBMITTED: woken by request'), events.join('\n'));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^corral_service_wakes_total\{service="wake-slurm",outcome="ok"\} 1$/m);
  });
});
