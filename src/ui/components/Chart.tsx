import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { THEME_EVENT } from '../theme';

export interface Line {
  label: string;
  values: Array<number | null>;
  /** A CSS custom property holding the colour: '--chart-1'. */
  color: string;
}

interface Props {
  title: string;
  unit: string;
  /** Sample times, ms since the epoch. */
  t: number[];
  lines: Line[];
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

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

/** A uPlot time series, coloured from the theme's CSS variables, as wide as its container. */
export function Chart({ title, unit, t, lines }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeVersion();
  const data = [t.map((ms) => ms / 1000), ...lines.map((l) => l.values)] as uPlot.AlignedData;

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: css('--fg-muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
    const chart = new uPlot({
      width: Math.max(280, el.clientWidth),
      height: 220,
      series: [{}, ...lines.map((l) => ({ label: l.label, stroke: css(l.color), width: 2, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${v.toFixed(2)} ${unit}`) }))],
      axes: [axis, { ...axis, size: 60, values: (_u: uPlot, ticks: number[]) => ticks.map((v) => `${+v.toFixed(2)}`) }],
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

  return (
    <figure class="chart">
      <figcaption>{title} <span class="muted">({unit})</span></figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={`${title} chart; the table view below has the same numbers`} />
    </figure>
  );
}
