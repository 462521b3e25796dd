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

/** Tick steps for counts: 1, 2, 5, 10, 20, 50, ... up to 5e15. */
const WHOLE_STEPS = Array.from({ length: 16 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** The value axis as wide as its longest label (`$0.0003`, `1,250,000`), so none is clipped. */
function fitLabels(u: uPlot, values: string[] | null, axisIdx: number): number {
  const axis = u.axes[axisIdx] as uPlot.Axis;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  const font = Array.isArray(axis.font) ? axis.font[0] : axis.font;
  if (font) u.ctx.font = font;
  const text = longest ? u.ctx.measureText(longest).width / devicePixelRatio : 0;
  const ticks = (axis.ticks as { size?: number } | undefined)?.size ?? 10;
  return Math.max(40, Math.ceil(text + ticks + (axis.gap ?? 5) + 6));
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
        // Counts (every value whole) get whole ticks: no "0.5 executions".
        const counts = series.every((s) => s.values.every((v) => Number.isInteger(v)));
        // The data's step in seconds (an hour or a day), for the bars' room at the ends.
        const step = times.length > 1 ? ((times[1] ?? 0) - (times[0] ?? 0)) / 1000 : 3600;
        const opts: uPlot.Options = {
          width,
          height,
          legend: { show: series.length > 1 },
          // Bars get half a step of room at each end, so the first and last are drawn whole.
          scales: { x: { time: true, ...(bars ? { range: (_u: uPlot, min: number, max: number) => [min - step / 2, max + step / 2] } : {}) } },
          axes: [
            // No tick finer than the data's own step (daily points get no 12pm ticks).
            { stroke: 'currentColor', space: (_u: uPlot, _i: number, _min: number, _max: number, dim: number) => Math.max(50, (0.9 * dim) / Math.max(bars ? times.length : times.length - 1, 1)) },
            {
              stroke: 'currentColor',
              size: fitLabels,
              ...(counts ? { incrs: WHOLE_STEPS } : {}),
              ...(fmt ? { values: (_u: uPlot, vals: number[]) => vals.map(fmt) } : {}),
            },
          ],
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
