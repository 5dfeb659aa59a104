/**
 * Section `auth`: what API keys cost. Two gateways with the same settings, one
 * with auth on (CORRAL_AUTH=on; the load sends a key scoped to `infer` on
 * `iris*` with a high rate and concurrency limit, so the key lookup, the scope
 * and model checks and the quota admission all run on every request) and one
 * with CORRAL_AUTH=off (loopback only). The same bounded KServe v2 iris load
 * (a fixed number of requests per run, capped in seconds) runs against each,
 * rounds alternating which goes first (on, off / off, on / ...), and the
 * medians are compared: auth should cost at most AUTH_MAX_COST of throughput.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CorralConfig } from '../src/config/index.js';
import type { RunningServer } from '../src/gateway/index.js';
import { bearer, drain, inferUrl, startBenchServer, uploadModel, warmUp } from './bench-server.js';
import type { BenchContext } from './context.js';
import { scrapeMetrics } from './corral-metrics.js';
import { GatewayProfiler, type HotFunction } from './gateway-profile.js';
import { workerPids } from './kserve-bench.js';
import { describeRun, measure } from './measure.js';
import { attribute } from './profile-attribution.js';
import { inferBody, type BenchModel } from './models.js';
import { runLoad } from './serve-load.js';
import { AUTH_MAX_COST, type AuthModeSummary, type AuthRun, type AuthSection } from './results.js';

type Mode = 'on' | 'off';

/** The code a request with a key runs that one without auth does not: the auth hook and src/auth. */
export const AUTH_CODE = /\/src\/auth\/|\/src\/gateway\/security\/authenticate\.ts/;

/** The key the auth-on runs send: POST /api/keys allows at most 10M requests/minute and 100000 in flight. */
export const BENCH_KEY = {
  name: 'bench-iris',
  scopes: ['infer'],
  models: ['iris*'],
  rate_limit: { requests_per_minute: 10_000_000, burst: 10_000_000, concurrency: 100_000 },
};

interface Gateway {
  mode: Mode;
  server: RunningServer;
  config: CorralConfig;
  /** Sent by the load (the scoped key when auth is on). */
  loadHeaders: Record<string, string>;
  /** Sent by the bench's own calls (uploads, GET /metrics): the admin key when auth is on. */
  adminHeaders: Record<string, string>;
  stop: () => Promise<void>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function startGateway(ctx: BenchContext, mode: Mode, model: BenchModel): Promise<Gateway> {
  const { cleanup, log, options } = ctx;
  const home = mkdtempSync(join(tmpdir(), `corral-bench-auth-${mode}-`));
  const removeHome = cleanup.add(`remove the auth-${mode} gateway home`, () => rmSync(home, { recursive: true, force: true }));
  const { server, config } = await startBenchServer(home, options.corralEnv, {}, mode);
  const close = cleanup.add(`stop the auth-${mode} gateway`, async () => {
    await drain(server, [model], 30_000).catch((err: unknown) => log(`auth-${mode} gateway not drained before shutdown: ${(err as Error).message}`));
    await server.close();
    log(`auth-${mode} gateway shut down`);
  });
  let adminHeaders: Record<string, string> = {};
  if (mode === 'on') {
    if (!server.newAdminKey) throw new Error('the auth-on gateway made no admin key on its first start (is CORRAL_ADMIN_TOKEN set?)');
    adminHeaders = bearer(server.newAdminKey);
  }
  log(`auth-${mode} gateway ${server.url}: CORRAL_AUTH=${config.auth.mode}, workers=${config.workers}, CORRAL_HOME ${home}`);
  return { mode, server, config, loadHeaders: {}, adminHeaders, stop: async () => { await close(); await removeHome(); } };
}

async function createKey(g: Gateway): Promise<string> {
  const res = await fetch(`${g.server.url}/api/keys`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...g.adminHeaders }, body: JSON.stringify(BENCH_KEY),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/keys answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { key: string }).key;
}

/** The auth-on gateway really checks: no key is refused, the scoped key is held to its scope and models. */
async function checkAuth(g: Gateway, model: BenchModel, other: BenchModel | undefined): Promise<AuthSection['checks']> {
  const infer = (name: string, headers: Record<string, string>) =>
    fetch(inferUrl(g.server.url, { ...model, name }), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: inferBody(model) });
  const checks: AuthSection['checks'] = [];
  const check = async (what: string, expected: number, res: Promise<Response>) => {
    const r = await res;
    await r.arrayBuffer();
    checks.push({ what, expected, got: r.status });
    if (r.status !== expected) throw new Error(`auth-on gateway: ${what} answered ${r.status}, expected ${expected}`);
  };
  await check(`POST /v2/models/${model.name}/infer without a key`, 401, infer(model.name, {}));
  await check(`POST /v2/models/${model.name}/infer with the scoped key`, 200, infer(model.name, g.loadHeaders));
  await check(`POST /v2/models/${other?.name ?? 'encoder'}/infer with the scoped key (outside ${BENCH_KEY.models.join(',')})`, 403, infer(other?.name ?? 'encoder', g.loadHeaders));
  await check('GET /api/keys with the scoped key (no admin scope)', 403, fetch(`${g.server.url}/api/keys`, { headers: g.loadHeaders }));
  return checks;
}

/** corral_key_requests_total of the bench key, per status. */
async function keyCounts(g: Gateway): Promise<Record<string, number>> {
  const scrape = await scrapeMetrics(g.server.url, g.adminHeaders);
  const counts: Record<string, number> = {};
  for (const [series, value] of scrape) {
    if (!series.startsWith('corral_key_requests_total{') || !series.includes(`key="${BENCH_KEY.name}"`)) continue;
    counts[series.match(/status="([^"]*)"/)?.[1] ?? '?'] = value;
  }
  return counts;
}

const countsBetween = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((status) => [status, b[status]! - (a[status] ?? 0)]).filter(([, n]) => n !== 0));

async function authRun(ctx: BenchContext, g: Gateway, model: BenchModel, round: number): Promise<AuthRun> {
  const { options } = ctx;
  const a = options.auth;
  const profiler = options.profile ? new GatewayProfiler() : undefined;
  let profiling: Promise<void> | undefined;
  let profiled: { file: string; hot: HotFunction[] } | undefined;
  const keysBefore = g.mode === 'on' ? await keyCounts(g) : undefined;
  const run = await measure({
    gatewayUrl: g.server.url, target: model.name, gatewayHeaders: g.adminHeaders,
    spec: {
      url: inferUrl(g.server.url, model), body: inferBody(model), headers: { 'content-type': 'application/json', ...g.loadHeaders },
      connections: a.concurrency, durationSec: options.durationSec, warmupSec: 0,
      amount: a.requests, warmupAmount: a.warmupRequests, maxSec: a.maxSec,
    },
    pids: () => workerPids(g.server),
    drain: () => drain(g.server, [model]),
    ...(profiler ? {
      window: {
        start: async () => void (profiling = profiler.start()),
        end: async () => {
          await profiling;
          const file = join(dirname(options.resultsPath), `profile-auth-${g.mode}-round${round}.cpuprofile`);
          profiled = { file, hot: await profiler.stop(file, 20) };
        },
      },
    } : {}),
  });
  const keyRequests = keysBefore ? countsBetween(keysBefore, await keyCounts(g)) : undefined;
  const ok = Math.max(1, run.load.ok);
  const profile = profiled ? { ...profiled, authCode: attribute(profiled.file, AUTH_CODE, ok) } : undefined;
  return {
    ...run, auth: g.mode, round,
    gatewayCpuUsPerRequest: ((run.cpu.gatewayPct / 100) * run.load.durationSec * 1e6) / ok,
    serverCpuUsPerRequest: (run.cpu.serverCpuSec * 1e6) / ok,
    ...(keyRequests ? { keyRequests } : {}),
    ...(profile ? { profile } : {}),
  };
}

function summary(runs: AuthRun[]): AuthModeSummary {
  return {
    runs: runs.length,
    reqPerSec: median(runs.map((r) => r.load.reqPerSec)),
    p50Ms: median(runs.map((r) => r.load.latencyMs.p50)),
    p99Ms: median(runs.map((r) => r.load.latencyMs.p99)),
    gatewayCpuUsPerRequest: median(runs.map((r) => r.gatewayCpuUsPerRequest)),
    serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
  };
}

export async function authSection(ctx: BenchContext): Promise<AuthSection> {
  const { options, log } = ctx;
  const a = options.auth;
  const model = ctx.models.find((m) => m.name === 'iris')!;
  // Its idle workers would only take memory and blur the CPU picture; later sections restart it.
  await ctx.stopShared();

  const on = await startGateway(ctx, 'on', model);
  const off = await startGateway(ctx, 'off', model);
  await uploadModel(on.server.url, model, on.adminHeaders);
  await uploadModel(off.server.url, model);
  on.loadHeaders = bearer(await createKey(on));
  log(`created key ${BENCH_KEY.name}: scopes ${BENCH_KEY.scopes.join(',')}, models ${BENCH_KEY.models.join(',')}, rate_limit ${JSON.stringify(BENCH_KEY.rate_limit)}`);
  const checks = await checkAuth(on, model, ctx.models.find((m) => m.name !== model.name));
  log(`auth-on gateway checks: ${checks.map((c) => `${c.what} → ${c.got}`).join('; ')}`);
  for (const g of [on, off]) {
    await warmUp(g.server, model, 30_000, g.loadHeaders);
    await drain(g.server, [model]);
  }
  // Before the first measured run, the code of both paths (the auth hook's included) is hot:
  // otherwise round 1's first run pays for the JIT warm-up of its path alone.
  for (const g of [on, off]) {
    await runLoad({
      url: inferUrl(g.server.url, model), body: inferBody(model), headers: { 'content-type': 'application/json', ...g.loadHeaders },
      connections: a.concurrency, durationSec: options.durationSec, warmupSec: 0, amount: a.warmupRequests * 4, maxSec: a.maxSec,
    });
    await drain(g.server, [model]);
  }
  log(`${model.name} loaded in every worker of both gateways; ${a.rounds} rounds of ${a.requests} requests per run (after ${a.warmupRequests} unmeasured) at c=${a.concurrency}, each run capped at ${a.maxSec} s`);

  const runs: AuthRun[] = [];
  for (let round = 1; round <= a.rounds; round++) {
    for (const g of round % 2 === 1 ? [on, off] : [off, on]) {
      const run = await authRun(ctx, g, model, round);
      runs.push(run);
      log(`auth ${g.mode} round ${round}: ${run.load.ok} requests in ${run.load.durationSec.toFixed(2)} s, ${describeRun(run)}, gateway ${run.gatewayCpuUsPerRequest.toFixed(0)} µs cpu/request${run.keyRequests ? `, key requests ${JSON.stringify(run.keyRequests)}` : ''}`);
    }
  }
  await on.stop();
  await off.stop();

  const onRuns = runs.filter((r) => r.auth === 'on');
  const offRuns = runs.filter((r) => r.auth === 'off');
  const onSummary = summary(onRuns);
  const offSummary = summary(offRuns);
  const ratio = onSummary.reqPerSec / offSummary.reqPerSec;
  const pairedRatio = median(Array.from({ length: a.rounds }, (_, i) => {
    const x = onRuns.find((r) => r.round === i + 1)!;
    const y = offRuns.find((r) => r.round === i + 1)!;
    return x.load.reqPerSec / y.load.reqPerSec;
  }));
  return {
    model: model.name, describe: model.describe, route: `POST /v2/models/${model.name}/infer (KServe JSON, batch of 1)`,
    concurrency: a.concurrency, requestsPerRun: a.requests, warmupRequestsPerRun: a.warmupRequests, maxSecPerRun: a.maxSec, rounds: a.rounds,
    gateways: { workers: on.config.workers, threadsPerWorker: on.config.threadsPerWorker, maxBatchSize: on.config.batching.maxBatchSize },
    key: { name: BENCH_KEY.name, scopes: BENCH_KEY.scopes, models: BENCH_KEY.models, rateLimit: BENCH_KEY.rate_limit },
    checks,
    runs,
    on: onSummary,
    off: offSummary,
    ratio,
    cost: 1 - ratio,
    pairedRatio,
    gatewayCpuRatio: offSummary.gatewayCpuUsPerRequest / onSummary.gatewayCpuUsPerRequest,
    maxCost: AUTH_MAX_COST,
    meetsTarget: 1 - ratio <= AUTH_MAX_COST,
  };
}
