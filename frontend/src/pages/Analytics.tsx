// The analytics dashboard: summary cards against the previous period, a trend chart, the
// components people use, a range picker and a CSV export — all from /api/analytics/*.

import { useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { AnalyticsPeriod, AnalyticsSummary, ComponentStats, Page, Range, Trend } from '../api/types';
import { change, compact, num, pct, usd } from '../lib/format';
import { useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, Table } from '../ui/bits';
import { parseRange, RangePicker } from '../ui/RangePicker';
import { Async, Empty, Unavailable } from '../ui/states';
import { TimeChart } from '../ui/TimeChart';

const CARDS: { key: keyof AnalyticsPeriod; label: string; fmt: (v: number) => string; lowerIsBetter?: boolean }[] = [
  { key: 'actions', label: 'Actions', fmt: num },
  { key: 'unique_users', label: 'Users', fmt: num },
  { key: 'sessions', label: 'Sessions', fmt: num },
  { key: 'executions', label: 'Executions', fmt: num },
  { key: 'success_rate', label: 'Success rate', fmt: pct },
  { key: 'tokens', label: 'Tokens', fmt: compact },
  { key: 'cost_usd', label: 'Cost', fmt: usd, lowerIsBetter: true },
  { key: 'errors', label: 'Errors', fmt: num, lowerIsBetter: true },
];

const METRICS = ['actions', 'users', 'executions', 'errors', 'tokens', 'cost'] as const;

export default function Analytics({ query }: PageProps) {
  const range = parseRange(query.get('range'));
  const summary = useResource((signal) => api.get<AnalyticsSummary>(`/api/analytics/summary?range=${range}`, { signal }), [range]);
  const setRange = (r: Range) => {
    track('app.analytics', 'range', { range: r });
    setQuery({ range: r });
  };
  // A figure the server does not record yet is absent, not zero: its card is left out.
  const cards = (s: AnalyticsSummary) => CARDS.filter((c) => s.current[c.key] !== undefined);
  const allZero = (s: AnalyticsSummary) => cards(s).every((c) => !s.current[c.key] && !s.previous[c.key]);
  return (
    <section>
      <PageHead title="Analytics" sub="How your team and its workflows use Beacon.">
        <RangePicker value={range} onChange={setRange} />
        {summary.state === 'ready' && (
          <a class="btn" href={`/api/analytics/export.csv?range=${range}`} download onClick={() => track('app.analytics', 'export_csv')}>
            Export CSV
          </a>
        )}
      </PageHead>
      <Async r={summary} what="Analytics" isEmpty={allZero} empty={<Empty title="No activity in this period yet.">Telemetry, runs and errors show up here as they happen.</Empty>}>
        {(s) => (
          <>
            <div class="cards">
              {cards(s).map((c) => (
                <SummaryCard key={c.key} label={c.label} cur={s.current[c.key]} prev={s.previous[c.key]} fmt={c.fmt} lowerIsBetter={c.lowerIsBetter} />
              ))}
            </div>
            <Trends range={range} />
            <Components range={range} />
          </>
        )}
      </Async>
    </section>
  );
}

function SummaryCard({ label, cur, prev, fmt, lowerIsBetter }: { label: string; cur: number | null; prev: number | null; fmt: (v: number) => string; lowerIsBetter?: boolean | undefined }) {
  const delta = cur === null || prev === null ? null : change(cur, prev);
  const good = delta !== null && delta !== 0 && (delta > 0) !== Boolean(lowerIsBetter);
  return (
    <div class="card" data-card={label}>
      <div class="card-label">{label}</div>
      <div class="card-value">{cur === null ? '—' : fmt(cur)}</div>
      <div class={`delta ${delta === null || delta === 0 ? '' : good ? 'good' : 'bad'}`}>
        {delta === null ? 'no earlier data' : delta === 0 ? 'no change' : `${delta > 0 ? '▲' : '▼'} ${pct(Math.abs(delta))} vs previous`}
      </div>
    </div>
  );
}

function Trends({ range }: { range: Range }) {
  const [metric, setMetric] = useState<(typeof METRICS)[number]>('executions');
  const interval = range === '24h' ? 'hour' : 'day';
  const r = useResource((signal) => api.get<Trend>(`/api/analytics/trends?metric=${metric}&range=${range}&interval=${interval}`, { signal }), [metric, range]);
  const data = useMemo(() => {
    const b = r.data?.buckets ?? [];
    return { times: b.map((x) => x.ts), series: [{ label: metric, values: b.map((x) => x.value), color: '#6366f1', ...(metric === 'cost' ? { format: usd } : {}) }] };
  }, [r.data, metric]);
  return (
    <>
      <div class="section-head">
        <h2>Trend</h2>
        <label>
          Metric{' '}
          <select value={metric} onChange={(e) => setMetric(e.currentTarget.value as (typeof METRICS)[number])}>
            {METRICS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
      </div>
      {r.state === 'error' && r.error instanceof ApiError && r.error.status === 422 ? (
        <Unavailable what={`The ${metric} trend`} />
      ) : (
        <Async r={r} what="Trends">
          {() => <TimeChart times={data.times} series={data.series} label={`${metric} per ${interval}`} />}
        </Async>
      )}
    </>
  );
}

function Components({ range }: { range: Range }) {
  const r = useResource((signal) => api.get<Page<ComponentStats> | ComponentStats[]>(`/api/analytics/components?range=${range}`, { signal }), [range]);
  const rows = (d: Page<ComponentStats> | ComponentStats[]) => (Array.isArray(d) ? d : d.data);
  return (
    <>
      <h2>Components</h2>
      <Async r={r} what="Component analytics" isEmpty={(d) => rows(d).length === 0} empty={<Empty title="No component has reported telemetry in this period." />}>
        {(d) => (
          <Table label="Components">
            <thead>
              <tr>
                <th>Component</th>
                <th>Actions</th>
                <th>Users</th>
                <th>Metrics (average)</th>
              </tr>
            </thead>
            <tbody>
              {rows(d).map((c) => (
                <tr key={c.component}>
                  <td>{c.component}</td>
                  <td>{num(c.actions)}</td>
                  <td>{num(c.users)}</td>
                  <td class="small">
                    {Object.entries(c.metrics ?? {})
                      .map(([k, v]) => `${k}: ${num(Math.round(v * 100) / 100)}`)
                      .join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
    </>
  );
}
