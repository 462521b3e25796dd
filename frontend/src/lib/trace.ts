// A trace made readable: its spans nested by parent into the rows of a waterfall (spans whose
// parent is missing, and spans caught in a parent cycle, stay at the top level — never lost), their
// bars on one time axis, the tree's keyboard moves, and GenAI messages in any of the shapes
// clients send made into one conversation shape. Pure (no DOM, no fetch): unit-tested in
// frontend/unit/trace.test.mjs.

import type { Span, SpanEvent } from '../api/types';

// --- the tree ------------------------------------------------------------------------------

export interface SpanRow {
  /** Unique among the rows: the span id (a repeated id gets a suffix). */
  key: string;
  span: Span;
  depth: number;
  /** The parent row's key; null at the top level. */
  parentKey: string | null;
  /** How many spans nest directly under this one. */
  childCount: number;
  /** It names a parent that is not in the trace (not received yet, or beyond the cut). */
  orphan: boolean;
  /** Its parent chain loops back to itself; shown at the top level to break the loop. */
  cycle: boolean;
  /** Milliseconds from the trace's first span to this span's start. */
  offsetMs: number;
  /** The bar on the time axis, as percentages of the axis. */
  left: number;
  width: number;
}

export interface Waterfall {
  /** Every span, parents before children, siblings by start (a depth-first walk). */
  rows: SpanRow[];
  /** The time axis's length in ms (the last end; at least the trace's own duration). */
  totalMs: number;
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

/**
 * Each span's start in ms from the earliest one. `offset_ms` (sub-millisecond, from the server)
 * is used when every span has it; otherwise `started_at`.
 */
export function relativeStarts(spans: Span[]): number[] {
  const useOffset = spans.length > 0 && spans.every((s) => finite(s.offset_ms));
  const raw = spans.map((s) => (useOffset ? s.offset_ms : s.started_at));
  const known = raw.filter(finite);
  const min = known.length ? Math.min(...known) : 0;
  return raw.map((r) => (finite(r) ? r - min : 0));
}

/** The minimum width of a bar (%), so a 0.1 ms span is still something to see and click. */
export const MIN_BAR_PCT = 0.4;

const round = (n: number) => Math.round(n * 10_000) / 10_000;

/** A bar's offset and width as percentages of an axis `totalMs` long, kept inside the axis. */
export function bar(offsetMs: number, durationMs: number, totalMs: number): { left: number; width: number } {
  if (!(totalMs > 0)) return { left: 0, width: 100 };
  const width = Math.min(100, Math.max(MIN_BAR_PCT, ((finite(durationMs) ? Math.max(0, durationMs) : 0) / totalMs) * 100));
  const left = Math.min(Math.max(0, ((finite(offsetMs) ? offsetMs : 0) / totalMs) * 100), 100 - width);
  return { left: round(left), width: round(width) };
}

/** The spans of a trace as waterfall rows, nested by parent, on one time axis. */
export function waterfall(spans: Span[], traceDurationMs = 0): Waterfall {
  const starts = relativeStarts(spans);
  const ends = spans.map((s, i) => (starts[i] ?? 0) + (finite(s.duration_ms) ? Math.max(0, s.duration_ms) : 0));
  const totalMs = Math.max(finite(traceDurationMs) ? traceDurationMs : 0, ...ends, 0);

  // Keys: the span id, or a suffixed one when a (malformed) trace repeats an id.
  const seen = new Map<string, number>();
  const keys = spans.map((s, i) => {
    const id = String(s.span_id ?? '');
    if (!seen.has(id)) {
      seen.set(id, i);
      return id;
    }
    return `${id}~${i}`;
  });

  // The parent of each span, by index: -1 when it has none, names itself, or names a missing span.
  const parentOf = spans.map((s, i) => {
    const pid = s.parent_span_id;
    if (!pid) return -1;
    const p = seen.get(pid);
    return p === undefined || p === i ? -1 : p;
  });
  const byStart = (a: number, b: number) => (starts[a] ?? 0) - (starts[b] ?? 0) || a - b;
  const children: number[][] = spans.map(() => []);
  parentOf.forEach((p, i) => p >= 0 && children[p]?.push(i));
  children.forEach((c) => c.sort(byStart));

  // Spans reachable from a top-level span; whatever is left sits on a cycle (or hangs under one),
  // and the earliest such span is lifted to the top level until nothing is left.
  const tops = spans.map((_, i) => i).filter((i) => parentOf[i] === -1);
  const reached = new Set<number>();
  const reach = (from: number) => {
    const stack = [from];
    while (stack.length) {
      const i = stack.pop() as number;
      if (reached.has(i)) continue;
      reached.add(i);
      stack.push(...(children[i] ?? []));
    }
  };
  tops.forEach(reach);
  const lifted = new Set<number>();
  for (;;) {
    const left = spans.map((_, i) => i).filter((i) => !reached.has(i));
    if (!left.length) break;
    const first = left.sort(byStart)[0] as number;
    lifted.add(first);
    tops.push(first);
    reach(first);
  }
  tops.sort(byStart);

  const rows: SpanRow[] = [];
  const placed = new Set<number>();
  const walk = (i: number, depth: number, parentKey: string | null) => {
    if (placed.has(i)) return;
    placed.add(i);
    const span = spans[i] as Span;
    const offsetMs = starts[i] ?? 0;
    const kids = (children[i] ?? []).filter((c) => !lifted.has(c));
    rows.push({
      key: keys[i] as string,
      span,
      depth,
      parentKey,
      childCount: kids.length,
      orphan: parentOf[i] === -1 && !!span.parent_span_id,
      cycle: lifted.has(i),
      offsetMs,
      ...bar(offsetMs, span.duration_ms, totalMs),
    });
    for (const c of kids) walk(c, depth + 1, keys[i] as string);
  };
  for (const t of tops) walk(t, 0, null);
  return { rows, totalMs };
}

/** The rows left showing when the rows whose keys are in `collapsed` hide their descendants. */
export function visibleRows(rows: SpanRow[], collapsed: ReadonlySet<string>): SpanRow[] {
  const out: SpanRow[] = [];
  let hideBelow = Infinity;
  for (const row of rows) {
    if (row.depth > hideBelow) continue;
    hideBelow = Infinity;
    out.push(row);
    if (row.childCount > 0 && collapsed.has(row.key)) hideBelow = row.depth;
  }
  return out;
}

/** What a key press in the waterfall does: select another row, or fold / unfold one. */
export type TreeMove = { select: string } | { toggle: string } | null;

/**
 * The tree's keys (WAI-ARIA tree pattern): Up / Down to the previous / next row, Home / End to the
 * first / last, Right unfolds a folded row or goes to its first child, Left folds an unfolded row
 * or goes to its parent.
 */
export function treeMove(visible: SpanRow[], current: string | null, key: string, collapsed: ReadonlySet<string>): TreeMove {
  if (!visible.length) return null;
  const at = visible.findIndex((r) => r.key === current);
  const row = visible[at];
  const pick = (r: SpanRow | undefined): TreeMove => (r && r.key !== current ? { select: r.key } : null);
  switch (key) {
    case 'ArrowDown':
      return pick(at < 0 ? visible[0] : visible[Math.min(at + 1, visible.length - 1)]);
    case 'ArrowUp':
      return pick(at < 0 ? visible[0] : visible[Math.max(at - 1, 0)]);
    case 'Home':
      return pick(visible[0]);
    case 'End':
      return pick(visible[visible.length - 1]);
    case 'ArrowRight':
      if (!row || row.childCount === 0) return null;
      if (collapsed.has(row.key)) return { toggle: row.key };
      return pick(visible[at + 1]);
    case 'ArrowLeft':
      if (!row) return null;
      if (row.childCount > 0 && !collapsed.has(row.key)) return { toggle: row.key };
      return row.parentKey ? { select: row.parentKey } : null;
    default:
      return null;
  }
}

// --- what a span is ------------------------------------------------------------------------

export type SpanCategory = 'agent' | 'llm' | 'tool' | 'other';

const LLM_OPERATIONS = ['chat', 'text_completion', 'generate_content', 'embeddings', 'completion'];

/** What the span did, for its colour and label: an agent, a model call, a tool, or other work. */
export function spanCategory(span: Pick<Span, 'operation' | 'tokens' | 'tool' | 'model'>): SpanCategory {
  const op = (span.operation ?? '').toLowerCase();
  if (op === 'execute_tool') return 'tool';
  if (op === 'invoke_agent' || op === 'create_agent') return 'agent';
  if (LLM_OPERATIONS.includes(op) || span.tokens) return 'llm';
  if (span.tool) return 'tool';
  return 'other';
}

/** A span's or trace's length: "0.42 ms", "4.2 ms", "850 ms", "1.25 s", "12.5 s", "2 min 5 s". */
export function formatMs(ms: number | null | undefined): string {
  if (!finite(ms)) return '—';
  const v = Math.max(0, ms);
  if (v === 0) return '0 ms';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 10) return `${v.toFixed(1)} ms`;
  if (v < 999.5) return `${Math.round(v)} ms`;
  if (v < 9_995) return `${(v / 1000).toFixed(2)} s`;
  if (v < 59_950) return `${(v / 1000).toFixed(1)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Ticks for a time axis `totalMs` long: round steps (1, 2, 2.5 or 5 × 10ⁿ ms), about `count`. */
export function axisTicks(totalMs: number, count = 4): { ms: number; pct: number }[] {
  if (!(totalMs > 0)) return [{ ms: 0, pct: 0 }];
  const rough = totalMs / count;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= rough) ?? 10 * pow) as number;
  const ticks: { ms: number; pct: number }[] = [];
  for (let i = 0; i * step <= totalMs * (1 + 1e-9); i++) {
    const ms = round(i * step);
    ticks.push({ ms, pct: round((ms / totalMs) * 100) });
  }
  return ticks;
}

// --- links ---------------------------------------------------------------------------------

const TRACE_ID = /^[0-9a-f]{32}$/i;

/** An execution's trace id: its `trace_id` when it has one, else its UUID without dashes. */
export function traceIdFor(execution: { id: string; trace_id?: string | null }): string {
  if (typeof execution.trace_id === 'string' && TRACE_ID.test(execution.trace_id)) return execution.trace_id.toLowerCase();
  return execution.id.replace(/-/g, '').toLowerCase();
}

// --- events and attributes -----------------------------------------------------------------

export interface EventView {
  name: string;
  /** Epoch ms, or null when the event did not say. */
  at: number | null;
  attributes: [string, string][];
}

/** A value as a person reads it: strings as they are, everything else as JSON. */
export function display(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

/** An attribute object as sorted `[key, text]` pairs; anything else as none. */
export function attributeEntries(attrs: unknown): [string, string][] {
  if (!attrs || typeof attrs !== 'object' || Array.isArray(attrs)) return [];
  return Object.entries(attrs as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, display(v)]);
}

/** OTLP's int64 nanoseconds (a string, to keep its precision, or a number) as epoch ms. */
function nanosToMs(v: unknown): number | null {
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) return Number(BigInt(v) / 1000n) / 1000 || null;
  return finite(v) && v > 0 ? v / 1e6 : null;
}

/** A span's events, whichever time field the server used (`time`, `time_ms`, `time_unix_nano`). */
export function spanEvents(events: unknown): EventView[] {
  if (!Array.isArray(events)) return [];
  return events
    .filter((e): e is SpanEvent & Record<string, unknown> => !!e && typeof e === 'object')
    .map((e) => {
      const at = finite(e.time) ? e.time : finite(e.time_ms) ? e.time_ms : nanosToMs(e.time_unix_nano ?? e.timeUnixNano);
      return { name: typeof e.name === 'string' && e.name ? e.name : '(unnamed event)', at, attributes: attributeEntries(e.attributes) };
    });
}

// --- messages ------------------------------------------------------------------------------

export type Part =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; name: string; id: string | null; arguments: string }
  | { type: 'tool_result'; id: string | null; text: string }
  | { type: 'other'; label: string; text: string };

export interface Message {
  /** As sent, lower-cased and with common synonyms folded: system, user, assistant, tool. */
  role: string;
  parts: Part[];
  /** From the output side (what the model answered) rather than the input. */
  output: boolean;
  finishReason: string | null;
}

const ROLE_SYNONYMS: Record<string, string> = {
  human: 'user',
  ai: 'assistant',
  model: 'assistant',
  bot: 'assistant',
  developer: 'system',
  function: 'tool',
  tool_result: 'tool',
  ipython: 'tool',
};

/** The four roles the conversation styles; anything else reads as "other". */
export function roleClass(role: string): 'system' | 'user' | 'assistant' | 'tool' | 'other' {
  return role === 'system' || role === 'user' || role === 'assistant' || role === 'tool' ? role : 'other';
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Tool-call arguments: JSON (a string of JSON, or a structure) pretty-printed; other text as is. */
function args(v: unknown): string {
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      if (parsed && typeof parsed === 'object') return JSON.stringify(parsed, null, 2);
    } catch {
      // plain text
    }
    return v;
  }
  return v === undefined || v === null ? '' : display(v);
}

function toPart(p: unknown): Part | null {
  if (p === null || p === undefined) return null;
  if (typeof p === 'string') return { type: 'text', text: p };
  if (typeof p !== 'object') return { type: 'text', text: String(p) };
  if (Array.isArray(p)) return { type: 'other', label: 'list', text: display(p) };
  const o = p as Record<string, unknown>;
  const type = (str(o.type) ?? '').toLowerCase();
  const fn = o.function && typeof o.function === 'object' ? (o.function as Record<string, unknown>) : null;
  switch (type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: display(o.content ?? o.text ?? '') };
    case 'tool_call':
    case 'function_call':
    case 'tool_use':
    case 'function':
      return {
        type: 'tool_call',
        name: str(o.name) ?? str(fn?.name) ?? '(tool)',
        id: str(o.id) ?? str(o.call_id),
        arguments: args(o.arguments ?? o.input ?? fn?.arguments),
      };
    case 'tool_call_response':
    case 'tool_result':
    case 'function_call_output':
      return { type: 'tool_result', id: str(o.id) ?? str(o.tool_use_id) ?? str(o.call_id), text: args(o.response ?? o.content ?? o.result ?? o.output) };
    case 'reasoning':
    case 'thinking':
      return { type: 'other', label: 'reasoning', text: display(o.content ?? o.thinking ?? o.text ?? '') };
    case '':
      if (typeof o.content === 'string' || typeof o.text === 'string') return { type: 'text', text: (str(o.content) ?? str(o.text)) as string };
      if (fn) return toPart({ ...o, type: 'tool_call' });
      return { type: 'other', label: 'part', text: display(o) };
    default:
      return { type: 'other', label: type, text: display(o.content ?? o.text ?? o) };
  }
}

function toParts(content: unknown): Part[] {
  if (Array.isArray(content)) return content.map(toPart).filter((p): p is Part => p !== null);
  const one = toPart(content);
  return one ? [one] : [];
}

function toMessage(m: unknown, defaultRole: string, output: boolean): Message {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    return { role: defaultRole, parts: Array.isArray(m) ? toParts(m) : toParts(m === null ? '' : typeof m === 'string' ? m : display(m)), output, finishReason: null };
  }
  const o = m as Record<string, unknown>;
  const raw = (str(o.role) ?? defaultRole).toLowerCase();
  const role = ROLE_SYNONYMS[raw] ?? raw;
  let parts: Part[] = [];
  if (Array.isArray(o.parts)) parts = toParts(o.parts);
  else if ('content' in o) parts = toParts(o.content);
  else if ('text' in o) parts = toParts(o.text);
  // OpenAI's chat shape: the calls beside the content, and a tool's answer naming its call.
  if (Array.isArray(o.tool_calls)) {
    for (const c of o.tool_calls) {
      const part = toPart(c && typeof c === 'object' && !(c as Record<string, unknown>).type ? { ...(c as object), type: 'tool_call' } : c);
      if (part) parts.push(part.type === 'text' ? { type: 'tool_call', name: '(tool)', id: null, arguments: part.text } : part);
    }
  }
  const callId = str(o.tool_call_id);
  if (role === 'tool' && callId) parts = parts.map((p) => (p.type === 'text' ? { type: 'tool_result', id: callId, text: p.text } : p));
  if (!parts.length && !('parts' in o) && !('content' in o)) {
    const rest = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'role' && k !== 'finish_reason'));
    if (Object.keys(rest).length) parts = [{ type: 'other', label: 'message', text: display(rest) }];
  }
  return { role, parts, output, finishReason: str(o.finish_reason) };
}

/**
 * GenAI messages, however they came — `[{role, parts}]` as the conventions say, `[{role,
 * content}]` (a string or a list of parts) as older clients send, a JSON string of either, a lone
 * message, or plain text — as a list of `{role, parts}` with known part types.
 */
export function normalizeMessages(raw: unknown, side: 'input' | 'output'): Message[] {
  const output = side === 'output';
  const defaultRole = output ? 'assistant' : 'user';
  if (raw === null || raw === undefined || raw === '') return [];
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object') return normalizeMessages(parsed, side);
    } catch {
      // plain text
    }
    return [toMessage(raw, defaultRole, output)];
  }
  if (Array.isArray(raw)) return raw.map((m) => toMessage(m, defaultRole, output));
  if (typeof raw === 'object' && Array.isArray((raw as Record<string, unknown>).messages)) {
    return normalizeMessages((raw as Record<string, unknown>).messages, side);
  }
  return [toMessage(raw, defaultRole, output)];
}

/** A span's conversation: what it was sent, then what it answered. */
export function conversation(span: Pick<Span, 'input_messages' | 'output_messages'>): Message[] {
  return [...normalizeMessages(span.input_messages, 'input'), ...normalizeMessages(span.output_messages, 'output')];
}
