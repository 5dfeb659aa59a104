import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import type { ModelSeries, SeriesView } from '../types';
import { Chart } from './Chart';

export type Window = SeriesView['window'];

/**
 * GET /api/metrics/series for a window, fetched again at each new sample
 * while mounted (the sampler's step, at least a second apart).
 */
export function useSeries(window: Window) {
  const [view, setView] = useState<SeriesView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const v = await api<SeriesView>(`/api/metrics/series?window=${window}`);
        if (stopped) return;
        setView(v);
        setError(null);
        timer = setTimeout(() => void load(), Math.max(1000, v.step_ms));
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void load();
    return () => { stopped = true; clearTimeout(timer); };
  }, [window, attempt]);
  return { view, error, retry: () => setAttempt((n) => n + 1) };
}

export function WindowSelect({ id, value, onChange, step }: { id: string; value: Window; onChange: (w: Window) => void; step?: number }) {
  return (
    <div class="metrics-window">
      <label for={id}>Window</label>
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value === '1h' ? '1h' : '15m')}>
        <option value="15m">Last 15 minutes</option>
        <option value="1h">Last hour</option>
      </select>
      {step !== undefined && <span class="muted">A sample every {step / 1000} s</span>}
    </div>
  );
}

/** Errors in each sample's interval: the rate times the interval it covers. */
function counts(t: number[], rates: Array<number | null>): Array<number | null> {
  return rates.map((r, i) => (r === null || i === 0 ? null : Math.round(r * (t[i]! - t[i - 1]!) / 1000 * 1000) / 1000));
}

/**
 * One model's (or service's) charts: latency, throughput, errors, queue depth
 * and batch size, each with its table view.
 */
export function ModelCharts({ t, s }: { t: number[]; s: ModelSeries }) {
  const errorCounts = counts(t, s.errors);
  const errorTotal = Math.round(errorCounts.reduce<number>((n, c) => n + (c ?? 0), 0));
  return (
    <div class="charts">
      <Chart title="Latency" unit="ms" t={t} lines={[{ label: 'p50', values: s.p50_ms, color: '--chart-1' }, { label: 'p99', values: s.p99_ms, color: '--chart-2', dashed: true }]} />
      <Chart title="Throughput" unit="req/s" t={t} lines={[{ label: 'requests', values: s.rps, color: '--chart-3' }]} />
      <Chart
        title="Errors" unit="errors/s" t={t} lines={[{ label: 'errors', values: s.errors, color: '--chart-4' }]}
        columns={[{ label: 'errors (count)', values: errorCounts }]}
        note={<p class="chart-note muted" data-testid="error-total">{errorTotal} {errorTotal === 1 ? 'error' : 'errors'} (HTTP status 400 or more) in this window</p>}
      />
      <Chart title="Queue depth" unit="rows" t={t} lines={[{ label: 'waiting', values: s.queue_depth, color: '--chart-1' }]} />
      <Chart title="Batch size" unit="rows/batch" t={t} lines={[{ label: 'mean batch', values: s.batch_size, color: '--chart-2' }]} />
    </div>
  );
}
