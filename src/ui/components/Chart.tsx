import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { THEME_EVENT } from '../theme';
import './Chart.css';

export interface Line {
  label: string;
  values: Array<number | null>;
  /** A CSS custom property holding the colour: '--chart-1'. */
  color: string;
  /** Dashed, so two lines differ by more than their colour. */
  dashed?: boolean;
}

/** A column of the table view only (e.g. counts behind a rate). */
export interface Column {
  label: string;
  values: Array<number | null>;
}

interface Props {
  title: string;
  unit: string;
  /** Sample times, ms since the epoch. */
  t: number[];
  lines: Line[];
  /** Extra columns of the table view, after the lines'. */
  columns?: Column[];
  /** Shown above the chart, e.g. a total over the window. */
  note?: ComponentChildren;
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${+v.toFixed(2)}`);
let nextId = 0;

/** Re-renders when the theme changes (the toggle, or the system's scheme). */
function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    window.addEventListener(THEME_EVENT, bump);
    media.addEventListener('change', bump);
    return () => {
      window.removeEventListener(THEME_EVENT, bump);
      media.removeEventListener('change', bump);
    };
  }, []);
  return version;
}

/**
 * A uPlot time series, coloured from the theme's CSS variables (axes, grid and
 * legend redrawn on a theme change), as wide as its container, with a table
 * view of the same numbers: the canvas is a picture, the table is what screen
 * readers and exact reading use.
 */
export function Chart({ title, unit, t, lines, columns = [], note }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [id] = useState(() => `chart-${++nextId}`);
  const theme = useThemeVersion();
  const data = [t.map((ms) => ms / 1000), ...lines.map((l) => l.values)] as uPlot.AlignedData;

  useEffect(() => {
    const el = box.current!;
    const fg = css('--fg-muted');
    const axis = { stroke: fg, grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--border'), width: 1 }, font: '12px system-ui, sans-serif', labelFont: '600 12px system-ui, sans-serif' };
    const chart = new uPlot({
      width: Math.max(280, el.clientWidth),
      height: 220,
      series: [{}, ...lines.map((l) => ({
        label: l.label, stroke: css(l.color), width: 2, spanGaps: false, ...(l.dashed ? { dash: [6, 4] } : {}),
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${+v.toFixed(2)} ${unit}`),
      }))],
      axes: [axis, { ...axis, size: 64, label: unit, labelSize: 18, values: (_u: uPlot, ticks: number[]) => ticks.map((v) => `${+v.toFixed(2)}`) }],
      scales: { y: { range: (_u: uPlot, min: number, max: number) => [0, Math.max(max, min, 1) * 1.1] } },
      cursor: { drag: { x: false, y: false } },
    }, data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [theme, lines.length]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  // Newest first, only the samples with some value.
  const cols = [...lines.map((l) => ({ label: `${l.label} (${unit})`, values: l.values })), ...columns];
  // Sub-second samples (a short CORRAL_METRICS_SAMPLE_MS) need tenths to tell rows apart.
  const clock: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', ...(t.length > 1 && t[1]! - t[0]! < 1000 ? { fractionalSecondDigits: 1 } : {}) };
  const rows = t.map((time, i) => ({ time, cells: cols.map((c) => c.values[i] ?? null) })).filter((r) => r.cells.some((v) => v !== null)).reverse();
  return (
    <figure class="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title} <span class="muted">({unit})</span></figcaption>
      {note}
      <div ref={box} class="chart-box" role="img" aria-label={`${title} chart; the table view has the same numbers`} />
      <details class="chart-table">
        <summary>Table view<span class="visually-hidden"> of {title}</span></summary>
        {rows.length === 0 ? <p class="empty">No samples with data yet.</p> : (
          <div class="table-scroll" tabIndex={0} role="region" aria-label={`${title}: table`}>
            <table>
              <caption class="visually-hidden">{title} per sample, newest first</caption>
              <thead><tr><th scope="col">Time</th>{cols.map((c) => <th scope="col" key={c.label}>{c.label}</th>)}</tr></thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.time}><th scope="row">{new Date(r.time).toLocaleTimeString(undefined, clock)}</th>{r.cells.map((v, i) => <td key={i}>{fmt(v)}</td>)}</tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </figure>
  );
}
