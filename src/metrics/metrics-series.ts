import type { Registry } from 'prom-client';

import type { ModelSeries, SeriesView, SeriesWindow } from './series-view.js';

export type { ModelSeries, SeriesView, SeriesWindow };

/** The windows GET /api/metrics/series answers, in ms. */
export const SERIES_WINDOWS: Record<SeriesWindow, number> = { '15m': 15 * 60_000, '1h': 60 * 60_000 };

/** Most samples the ring keeps: an hour at the default 5 s, less than an hour below 500 ms. */
const MAX_SAMPLES = 7201;

/** One model's (or service's) values over the interval that ends at a sample. */
interface Point {
  p50: number | null;
  p99: number | null;
  rps: number;
  errors: number;
  queue: number | null;
  batch: number | null;
}

/** The cumulative values of one model at one moment, to take differences of. */
interface Totals {
  requests: number;
  errors: number;
  /** Cumulative latency bucket counts, aligned with `bounds` plus +Inf last. */
  buckets: number[];
  queue: number | null;
  batchSum: number;
  batchCount: number;
}

interface Sample {
  t: number;
  points: Map<string, Point>;
}


interface MetricValue { value: number; labels: Record<string, string | number>; metricName?: string }

/**
 * Samples the gateway's own Prometheus metrics every `intervalMs` into a
 * bounded ring, and turns the differences between samples into chart series
 * per model label: latency quantiles from the request-duration histogram's
 * bucket deltas, requests and errors (status >= 400) per second from the
 * request counter, the queue-depth gauge, and the mean batch size from the
 * batch-size histogram. The first sample is a baseline: its points are null.
 */
export class MetricsSampler {
  private readonly ring: Sample[] = [];
  private readonly capacity: number;
  private previous: { t: number; totals: Map<string, Totals> } | undefined;
  private bounds: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(private readonly registry: Registry, readonly intervalMs: number) {
    this.capacity = Math.min(MAX_SAMPLES, Math.ceil(SERIES_WINDOWS['1h'] / intervalMs) + 1);
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Takes the baseline now, then a sample every intervalMs until stop(). */
  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the registry once and appends a sample; overlapping calls share one read. */
  sample(): Promise<void> {
    this.sampling ??= this.read().finally(() => { this.sampling = undefined; });
    return this.sampling;
  }

  /** The samples of the last `window` as chart series, for the models `visible` accepts. */
  series(window: SeriesWindow, visible: (model: string) => boolean, now = Date.now()): SeriesView {
    const since = now - SERIES_WINDOWS[window];
    const samples = this.ring.filter((s) => s.t > since);
    const names = new Set<string>();
    for (const s of samples) for (const name of s.points.keys()) if (name !== '' && visible(name)) names.add(name);
    const series: Record<string, ModelSeries> = {};
    for (const name of [...names].sort()) {
      const points = samples.map((s) => s.points.get(name));
      series[name] = {
        p50_ms: points.map((p) => p?.p50 ?? null),
        p99_ms: points.map((p) => p?.p99 ?? null),
        rps: points.map((p) => p?.rps ?? null),
        errors: points.map((p) => p?.errors ?? null),
        queue_depth: points.map((p) => p?.queue ?? null),
        batch_size: points.map((p) => p?.batch ?? null),
      };
    }
    return { window, step_ms: this.intervalMs, t: samples.map((s) => s.t), series };
  }

  private async read(): Promise<void> {
    const t = Date.now();
    const totals = await this.totals();
    const points = new Map<string, Point>();
    if (this.previous) {
      const seconds = Math.max(1, t - this.previous.t) / 1000;
      for (const [name, now] of totals) {
        const before = this.previous.totals.get(name);
        const point = this.point(now, before, seconds);
        if (point) points.set(name, point);
      }
    }
    this.previous = { t, totals };
    this.ring.push({ t, points });
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }

  /** The differences between two totals of a model; undefined if a counter went backwards. */
  private point(now: Totals, before: Totals | undefined, seconds: number): Point | undefined {
    const requests = now.requests - (before?.requests ?? 0);
    const errors = now.errors - (before?.errors ?? 0);
    const batches = now.batchCount - (before?.batchCount ?? 0);
    if (requests < 0 || errors < 0 || batches < 0) return undefined;
    const deltas = now.buckets.map((n, i) => n - (before?.buckets[i] ?? 0));
    return {
      p50: this.quantile(deltas, 0.5),
      p99: this.quantile(deltas, 0.99),
      rps: requests / seconds,
      errors: errors / seconds,
      queue: now.queue,
      batch: batches > 0 ? (now.batchSum - (before?.batchSum ?? 0)) / batches : null,
    };
  }

  /**
   * Prometheus's histogram_quantile on cumulative bucket counts, in ms: linear
   * within the bucket the rank falls in; the highest finite bound when it falls
   * in +Inf; null without observations.
   */
  private quantile(cumulative: number[], q: number): number | null {
    const total = cumulative.at(-1) ?? 0;
    if (total <= 0) return null;
    const rank = q * total;
    const i = cumulative.findIndex((n) => n >= rank);
    if (i < 0 || i >= this.bounds.length) return round(this.bounds.at(-1)! * 1000);
    const lower = i === 0 ? 0 : this.bounds[i - 1]!;
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = cumulative[i]! - below;
    const seconds = inBucket > 0 ? lower + (this.bounds[i]! - lower) * ((rank - below) / inBucket) : this.bounds[i]!;
    return round(seconds * 1000);
  }

  /** Every model label's cumulative values, summed over the other labels (API, status). */
  private async totals(): Promise<Map<string, Totals>> {
    const totals = new Map<string, Totals>();
    const of = (model: string | number | undefined): Totals => {
      const name = String(model ?? '');
      let entry = totals.get(name);
      if (!entry) totals.set(name, entry = { requests: 0, errors: 0, buckets: [], queue: null, batchSum: 0, batchCount: 0 });
      return entry;
    };
    for (const v of await this.values('corral_requests_total')) {
      const entry = of(v.labels.model);
      entry.requests += v.value;
      if (Number(v.labels.status) >= 400) entry.errors += v.value;
    }
    const byModel = new Map<string, Map<string, number>>();
    for (const v of await this.values('corral_request_duration_seconds')) {
      if (!v.metricName?.endsWith('_bucket')) continue;
      const model = String(v.labels.model ?? '');
      let buckets = byModel.get(model);
      if (!buckets) byModel.set(model, buckets = new Map());
      const le = String(v.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + v.value);
    }
    for (const [model, buckets] of byModel) {
      const les = [...buckets.keys()].sort((a, b) => Number(a) - Number(b)); // '+Inf' sorts last
      this.bounds = les.filter((le) => le !== '+Inf').map(Number);
      of(model).buckets = les.map((le) => buckets.get(le)!);
    }
    for (const v of await this.values('corral_queue_depth')) {
      const entry = of(v.labels.model);
      entry.queue = (entry.queue ?? 0) + v.value;
    }
    for (const v of await this.values('corral_batch_size')) {
      if (v.metricName?.endsWith('_sum')) of(v.labels.model).batchSum += v.value;
      else if (v.metricName?.endsWith('_count')) of(v.labels.model).batchCount += v.value;
    }
    return totals;
  }

  private async values(name: string): Promise<MetricValue[]> {
    const metric = this.registry.getSingleMetric(name);
    return metric ? ((await metric.get()).values as MetricValue[]) : [];
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
