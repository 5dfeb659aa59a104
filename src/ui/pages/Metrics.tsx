import { ErrorAlert } from '../components/ErrorAlert';
import { ModelCharts, useSeries, WindowSelect } from '../components/MetricsCharts';
import { navigate, type Location } from '../router';

/**
 * Latency (p50, p99), throughput, errors, queue depth and batch size per
 * model, from the gateway's own samples (GET /api/metrics/series): no
 * Prometheus needed. Fetched again at each new sample while the page shows.
 */
export function Metrics({ location }: { location: Location }) {
  const window = location.query.get('window') === '1h' ? '1h' : '15m';
  const { view, error, retry } = useSeries(window);
  const names = view ? Object.keys(view.series) : [];
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Metrics</h1>
      <WindowSelect id="window" value={window} onChange={(w) => navigate(`/metrics?window=${w}`, true)} step={view?.step_ms} />
      {error !== null && <ErrorAlert error={error} onRetry={retry} />}
      {!view && error === null && <p role="status">Loading…</p>}
      {view && names.length === 0 && <p class="empty">No requests yet in this window. Predict with a model and its charts appear here within a few seconds.</p>}
      {view && names.map((name) => {
        const id = `metrics-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        return (
          <article key={name} class="card metrics" aria-labelledby={id} data-model={name}>
            <h2 id={id}>{name}</h2>
            <ModelCharts t={view.t} s={view.series[name]!} />
          </article>
        );
      })}
    </section>
  );
}
