/**
 * The ceiling the server is measured against: the same model run in this
 * process with onnxruntime-node directly (no HTTP, no IPC, no JSON), one
 * session using every core, at several batch sizes.
 */
import * as ort from 'onnxruntime-node';
import { machineBusySeconds } from './cpu-usage.js';
import type { BenchModel } from './models.js';

export interface RawPoint {
  batch: number;
  runs: number;
  msPerRun: number;
  rowsPerSec: number;
  /** CPU other processes used meanwhile, percent of one core (a busy neighbour lowers the ceiling). */
  otherPct: number | undefined;
  /** Rows per CPU-second this process spent: robust to a busy neighbour, unlike rows/s. */
  rowsPerCpuSec: number;
}

export interface RawBaseline {
  model: string;
  threads: number;
  /** Per batch size, the best of the passes. */
  points: RawPoint[];
  best: RawPoint;
  /** Every pass as measured (a busy neighbour only ever lowers a pass). */
  passes: RawPoint[][];
}

function feedsFor(model: BenchModel, batch: number): Record<string, ort.Tensor> {
  const { name, datatype, rowShape, row } = model.input;
  const values = Array.from({ length: batch }, () => row).flat();
  const data = datatype === 'INT64' ? BigInt64Array.from(values, (v) => BigInt(v)) : Float32Array.from(values);
  return { [name]: new ort.Tensor(datatype === 'INT64' ? 'int64' : 'float32', data, [batch, ...rowShape]) };
}

export async function rawBaseline(model: BenchModel, opts: { threads: number; batchSizes: number[]; seconds: number }): Promise<RawBaseline> {
  const session = await ort.InferenceSession.create(model.path, { intraOpNumThreads: opts.threads, graphOptimizationLevel: 'all' });
  const outputs = model.outputs ?? [...session.outputNames];
  const points: RawPoint[] = [];
  try {
    for (const batch of opts.batchSizes) {
      const feeds = feedsFor(model, batch);
      for (let i = 0; i < 3; i++) await session.run(feeds, outputs); // warm-up: allocations, thread pool
      const cpuBefore = process.cpuUsage();
      const machineBefore = machineBusySeconds();
      const start = performance.now();
      const budgetMs = opts.seconds * 1000;
      let runs = 0;
      // At least 3 runs so a slow batch size still gets a meaningful mean.
      while (runs < 3 || performance.now() - start < budgetMs) {
        await session.run(feeds, outputs);
        runs++;
      }
      const elapsedMs = performance.now() - start;
      const own = process.cpuUsage(cpuBefore);
      const machineAfter = machineBusySeconds();
      const otherPct = machineBefore === undefined || machineAfter === undefined ? undefined
        : Math.round(Math.max(0, (machineAfter - machineBefore - (own.user + own.system) / 1e6) / (elapsedMs / 1000)) * 1000) / 10;
      points.push({ batch, runs, msPerRun: elapsedMs / runs, rowsPerSec: (runs * batch) / (elapsedMs / 1000), otherPct,
        rowsPerCpuSec: (runs * batch) / ((own.user + own.system) / 1e6) });
    }
  } finally {
    await session.release();
  }
  return { model: model.name, threads: opts.threads, points, best: bestPoint(points), passes: [points] };
}

const bestPoint = (points: RawPoint[]): RawPoint => points.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));

/** Combines passes of the same model: each batch size keeps its fastest pass. */
export function mergePasses(passes: RawBaseline[]): RawBaseline {
  const first = passes[0]!;
  const points = first.points.map((p) => bestPoint(passes.map((pass) => pass.points.find((q) => q.batch === p.batch) ?? p)));
  return { ...first, points, best: bestPoint(points), passes: passes.flatMap((pass) => pass.passes) };
}
