export { createMetrics, type CorralMetrics } from './metrics.js';
export { MetricsSampler, SERIES_WINDOWS, type SeriesWindow, type SeriesView, type ModelSeries } from './metrics-series.js';
