/**
 * Reads Corral's Prometheus /metrics and diffs two scrapes, to tell whether
 * dynamic batches formed during a run (corral_batch_size) and how long each
 * batch took inside a worker (corral_inference_duration_seconds).
 */
export type Scrape = Map<string, number>;

/** `headers`: a credential with the `metrics` scope when the gateway has auth on. */
export async function scrapeMetrics(baseUrl: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`, { headers });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const samples: Scrape = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

export interface BatchStats {
  batches: number;
  rows: number;
  meanBatchRows: number;
  /** Batches per histogram bucket ("≤1", "≤2", ...), this run only. */
  histogram: Record<string, number>;
  /** Mean time a batch spent in a worker, ms. */
  meanWorkerMsPerBatch: number;
  workerRestarts: number;
}

const delta = (a: Scrape, b: Scrape, key: string) => (b.get(key) ?? 0) - (a.get(key) ?? 0);

export function batchStatsBetween(a: Scrape, b: Scrape, model: string): BatchStats {
  const label = `model="${model}"`;
  const batches = delta(a, b, `corral_batch_size_count{${label}}`);
  const rows = delta(a, b, `corral_batch_size_sum{${label}}`);
  const histogram: Record<string, number> = {};
  let below = 0;
  for (const key of b.keys()) {
    if (!key.startsWith('corral_batch_size_bucket{') || !key.includes(label)) continue;
    const le = key.match(/le="([^"]+)"/)?.[1];
    if (le === undefined || le === '+Inf') continue;
    const cumulative = delta(a, b, key);
    if (cumulative - below > 0) histogram[`≤${le}`] = cumulative - below;
    below = cumulative;
  }
  const inferCount = delta(a, b, `corral_inference_duration_seconds_count{${label}}`);
  const inferSum = delta(a, b, `corral_inference_duration_seconds_sum{${label}}`);
  return {
    batches,
    rows,
    meanBatchRows: batches ? rows / batches : 0,
    histogram,
    meanWorkerMsPerBatch: inferCount ? (inferSum / inferCount) * 1000 : 0,
    workerRestarts: delta(a, b, 'corral_worker_restarts_total'),
  };
}
