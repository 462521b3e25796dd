// Traces: every trace the team's agents report over OpenTelemetry (and Beacon's own runs), newest
// first, filtered by time range, service, agent, model, status and span name; polled while the tab
// is visible, so a trace shows up within a second of its export returning, without reloading.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api/client';
import type { Page, TraceSummary } from '../api/types';
import { RANGES, tokenTotal } from '../api/types';
import { compact, num, usd } from '../lib/format';
import { LiveIndicator } from '../lib/live';
import { useInterval, useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import { formatMs } from '../lib/trace';
import type { PageProps } from '../routes';
import { PageHead, StatusBadge, Table, Time } from '../ui/bits';
import { Async, Empty, ErrorBox } from '../ui/states';

/** Under a second: the first page is one indexed read (~3 ms in the Worker), and none while hidden. */
const POLL_MS = 800;
const PAGE = 50;
const RANGE_LABELS: Record<string, string> = { all: 'All', '24h': '24 hours', '7d': '7 days', '30d': '30 days', '90d': '90 days' };
const TEXT_FILTERS = ['service', 'agent', 'model', 'q'] as const;
type TextFilter = (typeof TEXT_FILTERS)[number];

interface More {
  /** Whether a page after the first has been asked for (then `cursor` is the one to go on from). */
  started: boolean;
  rows: TraceSummary[];
  cursor: string | null;
  loading: boolean;
  error: unknown;
}
const NO_MORE: More = { started: false, rows: [], cursor: null, loading: false, error: null };

export default function Traces({ query }: PageProps) {
  const rawRange = query.get('range') ?? '';
  const range = (RANGES as string[]).includes(rawRange) ? rawRange : 'all';
  const status = ['ok', 'error'].includes(query.get('status') ?? '') ? (query.get('status') as string) : '';
  const applied: Record<TextFilter, string> = { service: query.get('service') ?? '', agent: query.get('agent') ?? '', model: query.get('model') ?? '', q: query.get('q') ?? '' };
  const [typed, setTyped] = useState(applied);

  const filterQs = qs({ range: range === 'all' ? '' : range, status, ...applied });
  const pageUrl = (cursor?: string) => `/api/traces${filterQs}${filterQs ? '&' : '?'}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  // A page can come back short or empty with a cursor (the server walks a bounded stretch of time
  // per request): the walk goes on, a few pages at most, until there is something to show.
  const walk = async (cursor: string | undefined, signal?: AbortSignal): Promise<Page<TraceSummary>> => {
    let page = await api.get<Page<TraceSummary>>(pageUrl(cursor), { signal });
    for (let i = 0; i < 5 && page.data.length === 0 && page.next_cursor; i++) page = await api.get<Page<TraceSummary>>(pageUrl(page.next_cursor), { signal });
    return page;
  };
  const list = useResource((signal) => walk(undefined, signal), [filterQs]);
  const [more, setMore] = useState<More>(NO_MORE);
  useEffect(() => setMore(NO_MORE), [filterQs]);

  // Live: the first page again (kept on screen while it loads).
  useInterval(() => list.reload(), list.state === 'error' && !list.data ? null : POLL_MS);

  // What is typed goes into the URL after a pause, so a filtered view can be shared.
  useEffect(() => {
    const changed = TEXT_FILTERS.filter((k) => typed[k].trim() !== applied[k]);
    if (!changed.length) return;
    const t = window.setTimeout(() => {
      track('app.traces', 'filter', { fields: changed });
      setQuery(Object.fromEntries(changed.map((k) => [k, typed[k].trim() || null])));
    }, 350);
    return () => window.clearTimeout(t);
  }, [typed.service, typed.agent, typed.model, typed.q]);

  // Rows: the polled first page, then the pages loaded after it (without the ones it now holds).
  const rows = useMemo(() => {
    const first = list.data?.data ?? [];
    const ids = new Set(first.map((t) => t.id));
    return [...first, ...more.rows.filter((t) => !ids.has(t.id))];
  }, [list.data, more.rows]);

  // Traces that arrived since the last look get a brief highlight.
  const known = useRef<{ filter: string; ids: Set<string> } | null>(null);
  const fresh = useMemo(() => {
    const prev = known.current?.filter === filterQs ? known.current.ids : null;
    const out = new Set(prev ? rows.filter((t) => !prev.has(t.id)).map((t) => t.id) : []);
    if (list.data) known.current = { filter: filterQs, ids: new Set([...(prev ?? []), ...rows.map((t) => t.id)]) };
    return out;
  }, [rows]);

  // Suggestions for the filters: the services, agents and models of the traces seen so far.
  const seen = useRef({ service: new Set<string>(), agent: new Set<string>(), model: new Set<string>() });
  for (const t of rows) {
    if (t.service) seen.current.service.add(t.service);
    t.agents?.forEach((a) => seen.current.agent.add(a));
    t.models?.forEach((m) => seen.current.model.add(m));
  }

  const cursor = more.started ? more.cursor : (list.data?.next_cursor ?? null);
  const loadMore = async () => {
    if (!cursor || more.loading) return;
    setMore({ ...more, loading: true, error: null });
    try {
      const page = await walk(cursor);
      const got = page.data;
      const next = page.next_cursor;
      track('app.traces', 'load_more', { rows: got.length });
      setMore((m) => ({ started: true, rows: [...m.rows, ...got], cursor: next, loading: false, error: null }));
    } catch (error) {
      setMore((m) => ({ ...m, loading: false, error }));
    }
  };

  const filtered = range !== 'all' || status !== '' || TEXT_FILTERS.some((k) => applied[k] !== '');
  const filterBy = (field: 'service' | 'agent' | 'model', value: string) => {
    track('app.traces', 'filter_tag', { field });
    setTyped({ ...typed, [field]: value });
    setQuery({ [field]: value });
  };
  const setRange = (r: string) => {
    track('app.traces', 'range', { range: r });
    setQuery({ range: r === 'all' ? null : r });
  };

  return (
    <section>
      <PageHead title="Traces" sub="What your agents did, span by span: every OpenTelemetry trace they send, and every run.">
        <LiveIndicator state={list.state === 'error' ? 'reconnecting' : list.data ? 'live' : 'connecting'} />
        <div class="segmented" role="radiogroup" aria-label="Time range">
          {['all', ...RANGES].map((r) => (
            <button key={r} type="button" role="radio" aria-checked={r === range} class={r === range ? 'on' : ''} onClick={() => setRange(r)}>
              {RANGE_LABELS[r]}
            </button>
          ))}
        </div>
      </PageHead>
      <form class="filters trace-filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select id="filter-status" value={status} onChange={(e) => setQuery({ status: e.currentTarget.value || null })}>
            <option value="">Any status</option>
            <option value="ok">OK</option>
            <option value="error">Error</option>
          </select>
        </label>
        {(['service', 'agent', 'model'] as const).map((k) => (
          <label key={k}>
            {k[0]?.toUpperCase() + k.slice(1)}
            <input id={`filter-${k}`} list={`seen-${k}`} placeholder={`Any ${k}`} value={typed[k]} onInput={(e) => setTyped({ ...typed, [k]: e.currentTarget.value })} autocomplete="off" />
            <datalist id={`seen-${k}`}>
              {[...seen.current[k]].sort().map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          </label>
        ))}
        <label>
          Search
          <input id="filter-q" type="search" placeholder="Span name" value={typed.q} onInput={(e) => setTyped({ ...typed, q: e.currentTarget.value })} />
        </label>
        {filtered && (
          <button
            type="button"
            class="btn btn-quiet"
            onClick={() => {
              setTyped({ service: '', agent: '', model: '', q: '' });
              setQuery({ range: null, status: null, service: null, agent: null, model: null, q: null });
            }}
          >
            Clear filters
          </button>
        )}
      </form>
      <Async
        r={list}
        what="Tracing"
        isEmpty={() => rows.length === 0}
        empty={
          <>
            {filtered ? <Empty title="No traces match these filters." /> : <NoTraces />}
            {more.error ? <ErrorBox error={more.error} onRetry={() => void loadMore()} /> : null}
            {cursor && (
              <button type="button" class="btn" disabled={more.loading} onClick={() => void loadMore()}>
                {more.loading ? 'Looking…' : 'Look further back'}
              </button>
            )}
          </>
        }
      >
        {() => (
          <>
            <Table label="Traces">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Trace</th>
                  <th>Started</th>
                  <th class="num">Duration</th>
                  <th class="num">Spans</th>
                  <th class="num">LLM calls</th>
                  <th class="num">Tokens</th>
                  <th class="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.id} data-trace-id={t.id} class={fresh.has(t.id) ? 'fresh' : undefined}>
                    <td>
                      <StatusBadge status={t.status} />
                    </td>
                    <td>
                      <a href={`/traces/${t.id}`}>{t.name || '(unnamed)'}</a>
                      <div class="muted small trace-tags">
                        {t.service && <FilterTag field="service" value={t.service} onPick={filterBy} />}
                        {t.agents?.map((a) => <FilterTag key={a} field="agent" value={a} label={`agent ${a}`} onPick={filterBy} />)}
                        {t.models?.map((m) => <FilterTag key={m} field="model" value={m} onPick={filterBy} />)}
                        {t.execution_id && <a href={`/executions/${t.execution_id}`}>workflow run</a>}
                      </div>
                    </td>
                    <td>
                      <Time ms={t.started_at} />
                    </td>
                    <td class="num">{formatMs(t.duration_ms)}</td>
                    <td class="num">{num(t.span_count)}</td>
                    <td class="num">{num(t.llm_calls)}</td>
                    <td class="num" title={t.tokens ? `${num(tokenTotal(t.tokens))} tokens` : undefined}>
                      {t.llm_calls || tokenTotal(t.tokens) ? compact(tokenTotal(t.tokens)) : <span class="muted">—</span>}
                    </td>
                    <td class="num">{t.cost_usd ? usd(t.cost_usd) : <span class="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {more.error ? <ErrorBox error={more.error} onRetry={() => void loadMore()} /> : null}
            {cursor && (
              <button type="button" class="btn" disabled={more.loading} onClick={() => void loadMore()}>
                {more.loading ? 'Loading…' : 'Load more'}
              </button>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

/** A trace's service, agent or model in the list; a click shows only the traces that share it. */
function FilterTag({ field, value, label, onPick }: { field: 'service' | 'agent' | 'model'; value: string; label?: string; onPick: (field: 'service' | 'agent' | 'model', value: string) => void }) {
  return (
    <button type="button" class="filter-tag" title={`Only traces with ${field} ${value}`} onClick={() => onPick(field, value)}>
      {label ?? value}
    </button>
  );
}

/** The empty state of a team with no traces: how to send some. */
function NoTraces() {
  const origin = window.location.origin;
  return (
    <Empty title="No traces yet.">
      <p>
        Point any OpenTelemetry SDK at Beacon with these two settings, and your agents' traces appear here as they are exported (runs of your{' '}
        <a href="/workflows">workflows</a> appear too):
      </p>
      <pre class="code" data-otel-setup>{`OTEL_EXPORTER_OTLP_ENDPOINT=${origin}/api/otlp\nOTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<access token>`}</pre>
      <p class="muted small">
        An access token with the member role or above comes from <code>POST /api/access-tokens</code>.
      </p>
    </Empty>
  );
}
