/**
 * GET /api/services/<id>/logs for a service on the real single-node Slurm
 * cluster: the job's output file, read through the profile's launcher from the
 * path the launcher gave the job, streamed while it grows, with the service's
 * state changes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHpcProfile, startSlurmGateway, stopSlurmGateway } from '../helpers/slurm-gateway.js';
import { waitFor } from '../helpers/scale-out.js';
import { postJson, type TestServer } from '../helpers/test-server.js';

interface LogLine { t: number; stream: string; text: string }

let server: TestServer;
let bert: string;
let homeDir: string;

before(async () => {
  const gateway = await startSlurmGateway();
  ({ server, bert, homeDir } = gateway);
  await createHpcProfile(gateway);
});

after(async () => {
  await stopSlurmGateway(server, ['slurm-logs']);
});

/** Data lines of a server-sent-events stream, until `until` accepts one (or the deadline passes). */
async function readUntil(res: Response, until: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const seen: LogLine[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not seen within ${timeoutMs} ms; saw ${JSON.stringify(seen.map((l) => `${l.stream}: ${l.text}`))}`)), Math.max(1, deadline - Date.now())); }),
      ]);
      clearTimeout(timer);
      if (chunk.done) throw new Error(`the stream ended; saw ${JSON.stringify(seen)}`);
      buffer += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const line = JSON.parse(data.slice(6)) as LogLine;
        seen.push(line);
        if (until(line)) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** pino's line `corral host` prints once it has registered the service. */
const isHostingLine = (line: LogLine) => line.stream === 'job' && /"msg":"hosting service"/.test(line.text) && /"service":"slurm-logs"/.test(line.text);

describe('logs of a Slurm service', () => {
  test('the job\'s output file is streamed as it grows and matches the file, after the state changes', async () => {
    const created = await postJson(`${server.url}/api/services`, { name: 'slurm-logs', task: 'feature-extraction', runtime: 'transformers', model: bert, profile: 'hpc' });
    assert.equal(created.status, 201, await created.clone().text());
    const service = await created.json() as { id: string; status: string };
    assert.equal(service.status, 'SUBMITTED');

    const res = await fetch(`${server.url}/api/services/slurm-logs/logs?follow=1&tail=0`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const seen = await readUntil(res, isHostingLine, 180_000);
    const running = seen.findIndex((l) => l.stream === 'event' && /→ RUNNING: at http:\/\/127\.0\.0\.1:\d+$/.test(l.text));
    assert.ok(running >= 0 && running < seen.length - 1, `RUNNING was streamed before the host's line: ${JSON.stringify(seen.map((l) => `${l.stream}: ${l.text}`))}`);
    await waitFor('the follower to be gone', () => {
      const n = server.corral.logs.followers(service.id);
      if (n !== 0) throw new Error(`${n} still following`);
      return true;
    });

    const lines = ((await (await fetch(`${server.url}/api/services/slurm-logs/logs?tail=2000`)).json()) as { lines: LogLine[] }).lines;
    const events = lines.filter((l) => l.stream === 'event').map((l) => l.text);
    const jobId = (await (await fetch(`${server.url}/api/services/slurm-logs`)).json() as { job_id: string }).job_id;
    assert.equal(events[0], 'SUBMITTED (profile hpc)');
    assert.equal(events[1], `SUBMITTED: job ${jobId}`);
    assert.equal(lines.filter(isHostingLine).length, 1, 'each line of the file is read once');
    // The job lines are the file's lines, in order, from its start (the launcher's path: <home_dir>/corral-jobs/<id>.log).
    const file = readFileSync(join(homeDir, 'corral-jobs', `${service.id}.log`), 'utf8').split('\n');
    const job = lines.filter((l) => l.stream === 'job').map((l) => l.text);
    assert.ok(job.length >= 1);
    assert.deepEqual(job, file.slice(0, job.length));

    const stop = await fetch(`${server.url}/api/services/slurm-logs/stop`, { method: 'POST' });
    assert.equal(stop.status, 200);
  });
});
