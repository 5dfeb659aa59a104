import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Chart } from '../components/Chart';
import { ErrorAlert } from '../components/ErrorAlert';
import { navigate, type Location } from '../router';
import type { ModelSeries, SeriesView } from '../types';

/**
 * Latency (p50, p99) and throughput (requests and errors per second) per
 * model, from the gateway's own samples (GET /api/metrics/series): no
 * Prometheus needed. Fetched again at each new sample while the page shows.
 */
export function Metrics({ location }: { location: Location }) {
  const window = location.query.get('window') === '1h' ? '1h' : '15m';
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

  const names = view ? Object.keys(view.series) : [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Metrics</h1>
      <div class="toolbar">
        <label for="window">Window</label>
        <select id="window" value={window} onChange={(e) => navigate(`/metrics?window=${(e.currentTarget as HTMLSelectElement).value}`, true)}>
          <option value="15m">Last 15 minutes</option>
          <option value="1h">Last hour</option>
        </select>
        {view && <span class="muted">A sample every {view.step_ms / 1000} s</span>}
      </div>
      {error !== null && <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {!view && error === null && <p role="status">Loading…</p>}
      {view && names.length === 0 && <p class="empty">No requests yet in this window. Predict with a model and its charts appear here within a few seconds.</p>}
      {view && names.map((name) => <ModelMetrics key={name} name={name} t={view.t} s={view.series[name]!} />)}
    </section>
  );
}

const fmt = (v: number | null) => (v === null ? '–' : `${+v.toFixed(2)}`);

function ModelMetrics({ name, t, s }: { name: string; t: number[]; s: ModelSeries }) {
  const id = `metrics-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const rows = t.map((time, i) => ({ time, p50: s.p50_ms[i] ?? null, p99: s.p99_ms[i] ?? null, rps: s.rps[i] ?? null, errors: s.errors[i] ?? null, queue: s.queue_depth[i] ?? null, batch: s.batch_size[i] ?? null }))
    .filter((r) => r.rps !== null).reverse();
  return (
    <article class="card metrics" aria-labelledby={id} data-model={name}>
      <h2 id={id}>{name}</h2>
      <div class="charts">
        <Chart title="Latency" unit="ms" t={t} lines={[{ label: 'p50', values: s.p50_ms, color: '--chart-1' }, { label: 'p99', values: s.p99_ms, color: '--chart-2' }]} />
        <Chart title="Throughput" unit="req/s" t={t} lines={[{ label: 'requests', values: s.rps, color: '--chart-3' }, { label: 'errors', values: s.errors, color: '--chart-4' }]} />
      </div>
      <details>
        <summary>Table view</summary>
        <table>
          <caption class="visually-hidden">{name}: metrics per sample, newest first</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">p50 (ms)</th><th scope="col">p99 (ms)</th><th scope="col">Requests/s</th><th scope="col">Errors/s</th><th scope="col">Queue</th><th scope="col">Batch size</th></tr></thead>
          <tbody>
            {rows.slice(0, 60).map((r) => (
              <tr key={r.time}><th scope="row">{new Date(r.time).toLocaleTimeString()}</th><td>{fmt(r.p50)}</td><td>{fmt(r.p99)}</td><td>{fmt(r.rps)}</td><td>{fmt(r.errors)}</td><td>{fmt(r.queue)}</td><td>{fmt(r.batch)}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </article>
  );
}
