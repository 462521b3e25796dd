// A time-series chart on uPlot, loaded on first use so pages without charts never download it.
// Sized to its container; the numbers are also in a table next to every chart.

import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';

export interface Series {
  label: string;
  values: number[];
  color: string;
  /** How the axis and legend print a value. */
  format?: (v: number) => string;
}

interface Props {
  /** Epoch milliseconds, ascending. */
  times: number[];
  series: Series[];
  height?: number;
  label: string;
  bars?: boolean;
}

let loading: Promise<typeof uPlot> | null = null;
function loadUPlot(): Promise<typeof uPlot> {
  loading ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return loading;
}

export function TimeChart({ times, series, height = 220, label, bars }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let chart: uPlot | null = null;
    let observer: ResizeObserver | null = null;
    let live = true;
    loadUPlot().then(
      (UPlot) => {
        const el = box.current;
        if (!live || !el) return;
        const width = Math.max(el.clientWidth, 240);
        const fmt = series[0]?.format;
        const opts: uPlot.Options = {
          width,
          height,
          legend: { show: series.length > 1 },
          scales: { x: { time: true } },
          axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 60, ...(fmt ? { values: (_u: uPlot, vals: number[]) => vals.map(fmt) } : {}) }],
          series: [
            {},
            ...series.map((s) => ({
              label: s.label,
              stroke: s.color,
              width: 2,
              fill: s.color + '22',
              ...(bars ? { paths: UPlot.paths.bars?.({ size: [0.6, 40] }) } : {}),
              ...(s.format ? { value: (_u: uPlot, v: number | null) => (v === null ? '—' : (s.format as (v: number) => string)(v)) } : {}),
            })),
          ],
        };
        chart = new UPlot(opts, [times.map((t) => t / 1000), ...series.map((s) => s.values)], el);
        observer = new ResizeObserver(() => chart?.setSize({ width: Math.max(el.clientWidth, 240), height }));
        observer.observe(el);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
      observer?.disconnect();
      chart?.destroy();
    };
  }, [times, series, height, bars]);
  return (
    <figure class="chart" aria-label={label}>
      {failed ? <p class="muted">The chart could not be drawn; the numbers are in the table.</p> : <div ref={box} class="chart-box" style={{ minHeight: `${height}px` }} />}
    </figure>
  );
}
