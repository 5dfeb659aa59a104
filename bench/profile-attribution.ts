/**
 * Inclusive time in a .cpuprofile (as GatewayProfiler writes it): how much of
 * the gateway's busy time was spent under frames of some files (e.g. the auth
 * hook and src/auth), and per function under them, so a cost can be named in
 * µs per request. Self time (gateway-profile.ts) spreads such a cost over
 * crypto, prom-client and V8 builtins; inclusive time keeps it together.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface Attribution {
  busyMs: number;
  /** Busy time with at least one frame from a matching file on the stack. */
  matchedMs: number;
  matchedPct: number;
  /** Garbage collection, which allocations on the matched path add to but which is never under its frames. */
  gcPct: number;
  /** Functions on matched stacks, by inclusive time (frames of matching files, and what they call). */
  functions: { name: string; where: string; inclusivePct: number; usPerRequest: number }[];
  usPerRequest: { busy: number; matched: number };
}

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*?\/(src|bench|test)\//, '$1/');

/** `files` matches frame URLs; `requests` turns times into µs per request. */
export function attribute(profileFile: string, files: RegExp, requests: number, top = 25): Attribution {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as { nodes: Node[]; samples?: number[]; timeDeltas?: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let busy = 0;
  let matched = 0;
  let gc = 0;
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  samples.forEach((id, i) => {
    const dt = deltas[i + 1] ?? 0;
    const leaf = byId.get(id);
    if (!leaf) return;
    const leafName = leaf.callFrame.functionName;
    if (leafName === '(idle)' || leafName === '(program)') return;
    busy += dt;
    if (leafName === '(garbage collector)') gc += dt;
    const stack: Node[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!);
    // Only the part of the stack from the outermost matching frame inward.
    let outer = -1;
    stack.forEach((n, j) => { if (files.test(n.callFrame.url)) outer = j; });
    if (outer < 0) return;
    matched += dt;
    const seen = new Set<string>();
    for (const n of stack.slice(0, outer + 1)) {
      const { functionName, url, lineNumber, columnNumber } = n.callFrame;
      const where = url ? `${shortUrl(url)}:${lineNumber + 1}:${columnNumber + 1}` : '';
      const key = `${functionName}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = inclusive.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
      e.us += dt;
      inclusive.set(key, e);
    }
  });
  const pct = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const perRequest = (us: number) => Math.round((us / Math.max(1, requests)) * 100) / 100;
  return {
    busyMs: busy / 1000, matchedMs: matched / 1000, matchedPct: pct(matched), gcPct: pct(gc),
    functions: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, inclusivePct: pct(e.us), usPerRequest: perRequest(e.us) })),
    usPerRequest: { busy: perRequest(busy), matched: perRequest(matched) },
  };
}
