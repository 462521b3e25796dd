// Token usage and cost: totals by token bucket, a daily chart, the month-end projection, the
// breakdown by model, agent, workflow, key or source (workflows, the LLM gateway, reported
// traces), the gateway's cache hits and savings, the monthly budget and a CSV export.

import { useMemo, useState } from 'preact/hooks';
import { api } from '../api/client';
import { tokenTotal, type Breakdown, type BreakdownBy, type Range, type TokenUsage } from '../api/types';
import { compact, num, usd } from '../lib/format';
import { useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { Card, PageHead, Table } from '../ui/bits';
import { parseRange, RangePicker } from '../ui/RangePicker';
import { Async, Empty } from '../ui/states';
import { TimeChart } from '../ui/TimeChart';
import { BudgetPanel } from './Budget';

const BY: { by: BreakdownBy; label: string }[] = [
  { by: 'model', label: 'Model' },
  { by: 'agent', label: 'Agent' },
  { by: 'workflow', label: 'Workflow' },
  { by: 'key', label: 'Key' },
  { by: 'source', label: 'Source' },
];

/** What a person reads for each source of calls. */
const SOURCES: Record<string, string> = { workflow: 'Workflows', gateway: 'LLM gateway', trace: 'Reported traces' };

export default function Usage({ query }: PageProps) {
  const range = parseRange(query.get('range'));
  const usage = useResource((signal) => api.get<TokenUsage>(`/api/tokens/usage?range=${range}`, { signal }), [range]);
  const setRange = (r: Range) => {
    track('app.usage', 'range', { range: r });
    setQuery({ range: r });
  };
  return (
    <section>
      <PageHead title="Token usage" sub="What every LLM call cost, in tokens and money.">
        <RangePicker value={range} onChange={setRange} />
        {usage.state === 'ready' && (
          <a class="btn" href={`/api/tokens/export.csv?range=${range}`} download onClick={() => track('app.usage', 'export_csv')}>
            Export CSV
          </a>
        )}
      </PageHead>
      <Async r={usage} what="Token usage" isEmpty={(u) => u.calls === 0} empty={<Empty title="No LLM calls in this period.">Run a workflow with an LLM step and its tokens and cost appear here.</Empty>}>
        {(u) => <UsageBody u={u} range={range} />}
      </Async>
      <BudgetPanel />
    </section>
  );
}

function UsageBody({ u, range }: { u: TokenUsage; range: Range }) {
  const times = useMemo(() => u.daily.map((d) => Date.parse(d.date)), [u]);
  const cost = useMemo(() => [{ label: 'Cost', values: u.daily.map((d) => d.cost_usd), color: '#10b981', format: usd }], [u]);
  const tokens = useMemo(() => [{ label: 'Tokens', values: u.daily.map((d) => tokenTotal(d.tokens)), color: '#6366f1', format: compact }], [u]);
  const t = u.tokens;
  return (
    <>
      <div class="cards">
        <Card label="Calls" value={num(u.calls)} />
        <Card label="Tokens" value={compact(t.total)} />
        <Card label="Cost" value={<span data-usage-cost>{usd(u.cost_usd)}</span>} />
        <Card label="Projected month-end cost" value={usd(u.projection?.month_end_cost_usd)} />
        {u.cache && u.cache.hits > 0 && (
          <Card label="Gateway cache hits" value={<span data-usage-cache-hits>{num(u.cache.hits)}</span>}>
            <div class="muted small">saved {usd(u.cache.saved_usd)}</div>
          </Card>
        )}
      </div>
      <Table label="Tokens by bucket">
        <thead>
          <tr>
            <th>Input (uncached)</th>
            <th>Cache read</th>
            <th>Cache write</th>
            <th>Output</th>
            <th>Reasoning</th>
            <th>Total</th>
          </tr>
        </thead>
        <tbody>
          <tr data-usage-tokens>
            <td>{num(t.input)}</td>
            <td>{num(t.cache_read)}</td>
            <td>{num(t.cache_write)}</td>
            <td>{num(t.output)}</td>
            <td>{num(t.reasoning)}</td>
            <td>{num(t.total)}</td>
          </tr>
        </tbody>
      </Table>
      <h2>Cost per day</h2>
      <TimeChart times={times} series={cost} label="Cost per day" bars />
      <h2>Tokens per day</h2>
      <TimeChart times={times} series={tokens} label="Tokens per day" />
      <BreakdownTable range={range} />
    </>
  );
}

function BreakdownTable({ range }: { range: Range }) {
  const [by, setBy] = useState<BreakdownBy>('model');
  const r = useResource((signal) => api.get<Breakdown>(`/api/tokens/breakdown?by=${by}&range=${range}`, { signal }), [by, range]);
  return (
    <>
      <div class="section-head">
        <h2>Breakdown</h2>
        <div class="segmented" role="tablist" aria-label="Break down by">
          {BY.map((b) => (
            <button key={b.by} type="button" role="tab" aria-selected={b.by === by} class={b.by === by ? 'on' : ''} onClick={() => setBy(b.by)}>
              {b.label}
            </button>
          ))}
        </div>
      </div>
      <Async r={r} what="The usage breakdown" isEmpty={(d) => d.data.length === 0} empty={<Empty title="Nothing to break down in this period." />}>
        {(d) => (
          <Table label={`Usage by ${by}`}>
            <thead>
              <tr>
                <th>{BY.find((b) => b.by === by)?.label}</th>
                <th>Calls</th>
                <th>Tokens</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((row) => (
                <tr key={row.key} data-breakdown={row.name}>
                  <td>{by === 'source' ? (SOURCES[row.key] ?? row.key) : row.name || row.key}</td>
                  <td>{num(row.calls)}</td>
                  <td>{num(tokenTotal(row.tokens))}</td>
                  <td>{usd(row.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
    </>
  );
}
