import { useState } from 'preact/hooks';
import { ErrorAlert } from '../components/ErrorAlert';
import { ModelCharts, useSeries, WindowSelect, type Window } from '../components/MetricsCharts';
import type { Service } from '../types';

/**
 * The Metrics page's charts for one service or model (its series is labelled
 * with the service's name), for the service page's Metrics tab.
 */
export function ServiceMetrics({ service }: { service: Service }) {
  const [window, setWindow] = useState<Window>('15m');
  const { view, error, retry } = useSeries(window);
  const series = view?.series[service.name];
  return (
    <section class="metrics" aria-labelledby="service-metrics-title" data-model={service.name}>
      <h2 id="service-metrics-title">Metrics of {service.name}</h2>
      <WindowSelect id="service-metrics-window" value={window} onChange={setWindow} step={view?.step_ms} />
      {error !== null && <ErrorAlert error={error} onRetry={retry} />}
      {!view && error === null && <p role="status">Loading…</p>}
      {view && !series && <p class="empty">No requests to {service.name} in this window. Send it some and its charts appear here within a few seconds.</p>}
      {view && series && <ModelCharts t={view.t} s={series} />}
    </section>
  );
}
