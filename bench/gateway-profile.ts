/**
 * Optional (BENCH_PROFILE=1): a V8 CPU profile of the gateway process (this
 * one) over a measured window, saved as .cpuprofile (open in Chrome DevTools)
 * and summarised as the functions with the most self time.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfPct: number;
}

export class GatewayProfiler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
  }

  /** Stops, writes the profile to `path` and returns the top functions by self time (idle excluded). */
  async stop(path: string, top = 12): Promise<HotFunction[]> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(profile));
    return hotFunctions(profile, top);
  }
}

function hotFunctions(profile: Profile, top: number): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<string, { name: string; where: string; us: number }>();
  let busy = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') return;
    const dt = deltas[i + 1] ?? 0;
    busy += dt;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = selfTime.get(key) ?? { name, where, us: 0 };
    entry.us += dt;
    selfTime.set(key, entry);
  });
  return [...selfTime.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfPct: Math.round((e.us / Math.max(1, busy)) * 1000) / 10 }));
}
