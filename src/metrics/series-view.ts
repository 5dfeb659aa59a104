/**
 * What GET /api/metrics/series answers. Types only, with no imports, so the web
 * UI (src/ui/types.ts) uses these same definitions.
 */
export type SeriesWindow = '15m' | '1h';

/** One model's values per sample, null where it had no data. */
export interface ModelSeries {
  p50_ms: Array<number | null>;
  p99_ms: Array<number | null>;
  rps: Array<number | null>;
  errors: Array<number | null>;
  queue_depth: Array<number | null>;
  batch_size: Array<number | null>;
}

export interface SeriesView {
  window: SeriesWindow;
  step_ms: number;
  t: number[];
  series: Record<string, ModelSeries>;
}
