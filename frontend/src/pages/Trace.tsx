// One trace: its totals, its spans as a waterfall nested by parent on one time axis (durations,
// tokens and cost per span, errors marked), and the selected span's details — tokens, its
// messages as a conversation, events and attributes. The tree is a WAI-ARIA tree: one tab stop,
// arrows move, Left/Right fold. A recent trace is polled, since spans keep arriving for a while.

import { Component, type ComponentChildren } from 'preact';
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { TraceDetail } from '../api/types';
import { tokenTotal } from '../api/types';
import { compact, dateTime, num, usd } from '../lib/format';
import { LiveIndicator } from '../lib/live';
import { useInterval, useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import {
  attributeEntries,
  axisTicks,
  conversation,
  formatMs,
  roleClass,
  spanCategory,
  spanEvents,
  treeMove,
  visibleRows,
  waterfall,
  type Message,
  type Part,
  type SpanCategory,
  type SpanRow,
} from '../lib/trace';
import type { PageProps } from '../routes';
import { PageHead, StatusBadge } from '../ui/bits';
import { Async, Empty } from '../ui/states';

const POLL_MS = 5000;
/** A trace is polled until it has been quiet this long (exporters batch spans for seconds). */
const SETTLED_MS = 5 * 60_000;
const CATEGORY_LABEL: Record<SpanCategory, string> = { agent: 'agent', llm: 'model call', tool: 'tool', other: 'span' };

export default function TracePage({ params, query }: PageProps) {
  const id = (params.id ?? '').toLowerCase();
  const r = useResource((signal) => api.get<TraceDetail>(`/api/traces/${encodeURIComponent(id)}`, { signal }), [id]);
  const missing = r.state === 'error' && r.error instanceof ApiError && r.error.status === 404;
  const recent = r.data ? Date.now() - (r.data.started_at + r.data.duration_ms) < SETTLED_MS : false;
  // Polled while its spans may still be arriving — and while it is not there yet, for a run's
  // trace opened the moment the run started.
  const polling = recent || missing;
  useInterval(() => r.reload(), polling ? POLL_MS : null);

  return (
    <section>
      <p class="crumbs">
        <a href="/traces">← Traces</a>
      </p>
      {missing && !r.data ? (
        <>
          <PageHead title="Trace" sub={<code>{id}</code>} />
          <Empty title="This trace has no spans here yet.">
            <p>Its spans may still be on their way (this page keeps looking), or the trace belongs to another team or was removed by the retention period.</p>
          </Empty>
        </>
      ) : (
        <Async r={r}>{(t) => <TraceBody t={t} selectedKey={query.get('span')} polling={polling} />}</Async>
      )}
    </section>
  );
}

function TraceBody({ t, selectedKey, polling }: { t: TraceDetail; selectedKey: string | null; polling: boolean }) {
  const w = useMemo(() => waterfall(t.spans ?? [], t.duration_ms), [t]);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const visible = useMemo(() => visibleRows(w.rows, collapsed), [w, collapsed]);
  const selected = w.rows.find((row) => row.key === selectedKey) ?? w.rows[0] ?? null;
  const panelRef = useRef<HTMLElement>(null);

  const select = (key: string, how: 'click' | 'key' | 'enter') => {
    if (key !== selected?.key) {
      track('app.trace', 'select_span', { how });
      setQuery({ span: key });
    }
    // At phone width the panel is below the waterfall: bring it into view on a deliberate choice.
    if (how !== 'key' && window.matchMedia('(max-width: 900px)').matches) panelRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const toggle = (key: string) => {
    const next = new Set(collapsed);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setCollapsed(next);
  };
  // Stable handlers, so a row re-renders only when its own props change (2,000 rows per key press
  // otherwise).
  const handlers = useRef({ select, toggle });
  handlers.current = { select, toggle };
  const onSelect = useCallback((key: string, how: 'click' | 'key' | 'enter') => handlers.current.select(key, how), []);
  const onToggle = useCallback((key: string) => handlers.current.toggle(key), []);

  return (
    <>
      <PageHead title={t.name || 'Trace'} sub={<code class="trace-id">{t.id}</code>}>
        {polling && <LiveIndicator state="live" />}
        {t.execution_id && (
          <a class="btn" href={`/executions/${t.execution_id}`}>
            Open the run
          </a>
        )}
      </PageHead>
      <dl class="facts">
        <Fact label="Status">
          <StatusBadge status={t.status} />
        </Fact>
        {t.service && <Fact label="Service">{t.service}</Fact>}
        <Fact label="Started">{dateTime(t.started_at)}</Fact>
        <Fact label="Duration">{formatMs(t.duration_ms)}</Fact>
        <Fact label="Spans">{num(t.span_count)}</Fact>
        <Fact label="LLM calls">{num(t.llm_calls)}</Fact>
        <Fact label="Tokens">
          <span data-trace-tokens>{num(tokenTotal(t.tokens))}</span>
        </Fact>
        <Fact label="Cost">{usd(t.cost_usd ?? 0)}</Fact>
        {t.agents?.length > 0 && <Fact label={t.agents.length > 1 ? 'Agents' : 'Agent'}>{t.agents.join(', ')}</Fact>}
        {t.models?.length > 0 && <Fact label={t.models.length > 1 ? 'Models' : 'Model'}>{t.models.join(', ')}</Fact>}
      </dl>
      {t.spans_truncated && (
        <p class="notice" role="note">
          This trace is large: the first {num(w.rows.length)} of its {num(t.span_count)} spans are shown.
        </p>
      )}
      {w.rows.length === 0 ? (
        <Empty title="No spans in this trace yet." />
      ) : (
        <div class="trace-layout">
          <Waterfall rows={visible} totalMs={w.totalMs} selected={selected?.key ?? null} collapsed={collapsed} onSelect={onSelect} onToggle={onToggle} />
          <aside class="span-panel" ref={panelRef} aria-label="Selected span" data-span-panel tabIndex={-1}>
            {selected && <SpanDetail row={selected} />}
          </aside>
        </div>
      )}
    </>
  );
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

interface WaterfallProps {
  rows: SpanRow[];
  totalMs: number;
  selected: string | null;
  collapsed: Set<string>;
  onSelect: (key: string, how: 'click' | 'key' | 'enter') => void;
  onToggle: (key: string) => void;
}

function Waterfall({ rows, totalMs, selected, collapsed, onSelect, onToggle }: WaterfallProps) {
  const ticks = useMemo(() => axisTicks(totalMs), [totalMs]);
  const tree = useRef<HTMLDivElement>(null);
  const [focusKey, setFocusKey] = useState<string | null>(null);
  // The focused row follows the selection when the keys moved it.
  useLayoutEffect(() => {
    if (!focusKey) return;
    tree.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
    setFocusKey(null);
  }, [focusKey]);
  // One tab stop: the selected row, or the first when the selection is folded away.
  const tabStop = rows.some((r) => r.key === selected) ? selected : (rows[0]?.key ?? null);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    // The selection, not the focus, is where a move starts: keys pressed faster than the focus
    // follows still move one row each.
    const current = rows.some((r) => r.key === selected) ? selected : ((e.target as HTMLElement).closest<HTMLElement>('[data-key]')?.dataset.key ?? null);
    if ((e.key === 'Enter' || e.key === ' ') && current) {
      e.preventDefault();
      onSelect(current, 'enter');
      return;
    }
    const move = treeMove(rows, current, e.key, collapsed);
    if (!move) return;
    e.preventDefault();
    if ('toggle' in move) onToggle(move.toggle);
    else {
      onSelect(move.select, 'key');
      setFocusKey(move.select);
    }
  };

  return (
    <div class="waterfall" data-waterfall>
      <div class="wf-head" aria-hidden="true">
        <div class="wf-name">Span</div>
        <div class="wf-axis">
          {ticks.map((t) => (
            <span key={t.ms} class={t.pct > 92 ? 'end' : ''} style={{ left: `${t.pct}%` }}>
              {t.ms === 0 ? '0' : formatMs(t.ms).replace(/\.0+(?= )/, '')}
            </span>
          ))}
        </div>
      </div>
      <div role="tree" aria-label="Spans, nested by parent" ref={tree} onKeyDown={onKeyDown} style={{ '--tick': `${ticks[1]?.pct ?? 100}%` }}>
        {rows.map((row) => (
          <PureRow key={row.key} row={row} selected={row.key === selected} tabStop={row.key === tabStop} collapsed={collapsed.has(row.key)} onSelect={onSelect} onToggle={onToggle} />
        ))}
      </div>
      <div class="legend" aria-hidden="true">
        {(Object.keys(CATEGORY_LABEL) as SpanCategory[]).map((c) => (
          <span key={c}>
            <i class={`cat-${c}`} /> {CATEGORY_LABEL[c]}
          </span>
        ))}
        <span>
          <i class="error" /> error
        </span>
        <span class="legend-keys">↑ ↓ move · ← → fold · Enter shows the span</span>
      </div>
    </div>
  );
}

interface RowProps {
  row: SpanRow;
  selected: boolean;
  tabStop: boolean;
  collapsed: boolean;
  onSelect: (key: string, how: 'click' | 'key' | 'enter') => void;
  onToggle: (key: string) => void;
}

/** A row that re-renders only when its span, selection, tab stop or fold changes. */
class PureRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return p.row !== next.row || p.selected !== next.selected || p.tabStop !== next.tabStop || p.collapsed !== next.collapsed || p.onSelect !== next.onSelect || p.onToggle !== next.onToggle;
  }
  override render(props: RowProps) {
    return <WaterfallRow {...props} />;
  }
}

function WaterfallRow({ row, selected, tabStop, collapsed, onSelect, onToggle }: RowProps) {
  const s = row.span;
  const category = spanCategory(s);
  const error = s.status === 'error';
  const detail = s.tool ?? s.model ?? (category === 'agent' ? s.agent : null);
  const total = s.tokens ? tokenTotal(s.tokens) : null;
  // The duration sits right of its bar; left of it when the bar reaches the axis's end; inside it
  // when the bar fills the axis.
  const end = row.left + row.width;
  const label = end < 78 ? { style: { left: `calc(${end}% + 0.3rem)` }, cls: '' } : row.left > 14 ? { style: { right: `calc(${100 - row.left}% + 0.3rem)` }, cls: '' } : { style: { right: `calc(${100 - end}% + 0.3rem)` }, cls: ' inside' };
  return (
    <div
      role="treeitem"
      aria-level={row.depth + 1}
      aria-expanded={row.childCount > 0 ? !collapsed : undefined}
      aria-selected={selected}
      aria-label={`${s.name}, ${CATEGORY_LABEL[category]}, ${formatMs(s.duration_ms)}${error ? ', error' : ''}`}
      tabIndex={tabStop ? 0 : -1}
      class={`wf-row${selected ? ' selected' : ''}${error ? ' error' : ''}`}
      data-key={row.key}
      data-span-id={s.span_id}
      data-category={category}
      onClick={() => onSelect(row.key, 'click')}
    >
      <div class="wf-name" style={{ paddingLeft: `${0.35 + Math.min(row.depth, 12) * 0.85}rem` }}>
        {row.childCount > 0 ? (
          <span
            class="wf-toggle"
            aria-hidden="true"
            title={collapsed ? 'Show its spans' : 'Hide its spans'}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(row.key);
            }}
          >
            {collapsed ? '▸' : '▾'}
          </span>
        ) : (
          <span class="wf-toggle" aria-hidden="true" />
        )}
        <span class={`wf-dot cat-${category}`} aria-hidden="true" />
        <span class="wf-text">
          <span class="wf-label">
            {s.name || '(unnamed)'}
            {error && (
              <span class="badge status-error" data-status="error">
                error
              </span>
            )}
            {(row.orphan || row.cycle) && (
              <span class="badge" title={row.cycle ? 'Its parents loop back to it' : 'Its parent span is not in this trace (yet)'}>
                {row.cycle ? 'cycle' : 'no parent'}
              </span>
            )}
          </span>
          <span class="wf-meta">
            {detail && <span>{detail}</span>}
            {total !== null && <span data-span-tokens>{compact(total)} tok</span>}
            {s.cost_usd ? <span>{usd(s.cost_usd)}</span> : null}
            {collapsed && <span>{row.childCount} hidden</span>}
          </span>
        </span>
      </div>
      <div class="wf-track">
        <span class={`wf-bar cat-${category}${error ? ' error' : ''}`} style={{ left: `${row.left}%`, width: `${row.width}%` }} />
        <span class={`wf-dur${label.cls}`} style={label.style}>
          {formatMs(s.duration_ms)}
        </span>
      </div>
    </div>
  );
}

function SpanDetail({ row }: { row: SpanRow }) {
  const s = row.span;
  const category = spanCategory(s);
  const messages = useMemo(() => conversation(s), [s]);
  const events = useMemo(() => spanEvents(s.events), [s]);
  const attributes = useMemo(() => attributeEntries(s.attributes), [s]);
  const t = s.tokens;
  return (
    <div data-span-detail={s.span_id}>
      <header class="span-head">
        <span class={`wf-dot cat-${category}`} aria-hidden="true" />
        <h2>{s.name || '(unnamed)'}</h2>
        {s.status !== 'unset' && <StatusBadge status={s.status} />}
      </header>
      {s.status === 'error' && <p class="form-error">{s.status_message || 'This span ended with an error.'}</p>}
      <dl class="kv">
        <KV label="Type">{CATEGORY_LABEL[category]}</KV>
        {s.operation && <KV label="Operation">{s.operation}</KV>}
        {s.provider && <KV label="Provider">{s.provider}</KV>}
        {s.model && <KV label="Model">{s.model}</KV>}
        {s.agent && <KV label="Agent">{s.agent}</KV>}
        {s.tool && <KV label="Tool">{s.tool}</KV>}
        {s.service && <KV label="Service">{s.service}</KV>}
        <KV label="Starts">+{formatMs(row.offsetMs)}</KV>
        <KV label="Duration">{formatMs(s.duration_ms)}</KV>
        <KV label="Kind">{s.kind}</KV>
        <KV label="Span id">
          <code>{s.span_id}</code>
        </KV>
        {s.parent_span_id && (
          <KV label="Parent">
            <code>{s.parent_span_id}</code>
            {row.orphan && <span class="muted small"> (not in this trace)</span>}
          </KV>
        )}
      </dl>
      {t && (
        <>
          <h3>Tokens</h3>
          <table class="token-table" data-span-token-table>
            <tbody>
              <TokenRow bucket="input" label="Input" n={t.input} />
              <TokenRow bucket="cache_read" label="Cache read" n={t.cache_read} />
              <TokenRow bucket="cache_write" label="Cache write" n={t.cache_write} />
              <TokenRow bucket="output" label="Output" n={t.output} />
              <TokenRow bucket="reasoning" label="Reasoning" n={t.reasoning} />
              <tr class="total" data-bucket="total">
                <th scope="row">Total</th>
                <td>{num(tokenTotal(t))}</td>
              </tr>
              <tr data-bucket="cost">
                <th scope="row">Cost</th>
                <td>{s.cost_usd === null ? <span class="muted">no price for this model</span> : usd(s.cost_usd)}</td>
              </tr>
            </tbody>
          </table>
        </>
      )}
      {s.truncated && (
        <p class="notice small" role="note">
          Some of this span's attributes, events or messages were longer than Beacon keeps, and were cut.
        </p>
      )}
      {messages.length > 0 && (
        <>
          <h3>Conversation</h3>
          <Conversation messages={messages} />
        </>
      )}
      {events.length > 0 && (
        <>
          <h3>Events ({events.length})</h3>
          <ol class="span-events">
            {events.map((e, i) => (
              <li key={i} class={e.name === 'exception' ? 'error' : ''}>
                <strong>{e.name}</strong> {e.at !== null && <span class="muted small">+{formatMs(e.at - s.started_at)}</span>}
                {e.attributes.length > 0 && <Attributes entries={e.attributes} />}
              </li>
            ))}
          </ol>
        </>
      )}
      <h3>Attributes ({attributes.length})</h3>
      {attributes.length ? <Attributes entries={attributes} /> : <p class="muted small">None.</p>}
    </div>
  );
}

function KV({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function TokenRow({ bucket, label, n }: { bucket: string; label: string; n: number | undefined }) {
  return (
    <tr data-bucket={bucket}>
      <th scope="row">{label}</th>
      <td>{num(n ?? 0)}</td>
    </tr>
  );
}

function Attributes({ entries }: { entries: [string, string][] }) {
  return (
    <dl class="attrs">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Conversation({ messages }: { messages: Message[] }) {
  const firstOutput = messages.findIndex((m) => m.output);
  return (
    <ol class="conversation" data-conversation>
      {messages.map((m, i) => (
        <li key={i} class={`msg msg-${roleClass(m.role)}${m.output ? ' msg-output' : ''}${i === firstOutput && i > 0 ? ' msg-first-output' : ''}`} data-role={m.role}>
          <div class="msg-role">
            {m.role}
            {m.output && <span class="muted"> · response</span>}
            {m.finishReason && <span class="muted"> · {m.finishReason}</span>}
          </div>
          {m.parts.length === 0 ? <p class="muted small">(empty)</p> : m.parts.map((p, j) => <MessagePart key={j} part={p} />)}
        </li>
      ))}
    </ol>
  );
}

function MessagePart({ part: p }: { part: Part }) {
  switch (p.type) {
    case 'text':
      return <div class="msg-text">{p.text}</div>;
    case 'tool_call':
      return (
        <div class="msg-call">
          <div class="small">
            Calls <code>{p.name}</code>
            {p.id && <span class="muted"> · {p.id}</span>}
          </div>
          {p.arguments && <pre class="code">{p.arguments}</pre>}
        </div>
      );
    case 'tool_result':
      return (
        <div class="msg-call">
          <div class="small">Result{p.id && <span class="muted"> of {p.id}</span>}</div>
          <pre class="code">{p.text}</pre>
        </div>
      );
    default:
      return (
        <details class="msg-other">
          <summary class="small">{p.label}</summary>
          <pre class="code">{p.text}</pre>
        </details>
      );
  }
}
