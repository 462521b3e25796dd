// The API's shapes, as ../shared/SPEC.md describes them. Times are epoch milliseconds.

export type Role = 'viewer' | 'member' | 'admin' | 'owner';
export const ROLES: Role[] = ['viewer', 'member', 'admin', 'owner'];

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Me {
  user: { id: string; email: string; name: string };
  team: { id: string; name: string };
  role: Role;
}

export interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: number;
  last_active_at: number | null;
}

export interface Invite {
  id: string;
  email: string;
  role: Role;
  created_at?: number;
  expires_at: number;
  invite_url?: string;
}

/** GET/PUT /api/team/retention: how many days raw rows are kept (each 1–400). */
export interface Retention {
  /** Telemetry events (default 90). */
  events_days: number;
  /** Trace spans, with their message content (default 30). */
  traces_days: number;
  /** Executions, with their step outputs (default 90). */
  executions_days: number;
}

/** POST /api/team/erase: how many rows of the end user or session were deleted. */
export interface Erasure {
  events: number;
  spans: number;
  occurrences: number;
}

export type StoredTable = 'events' | 'spans' | 'traces' | 'executions' | 'llm_usage' | 'error_occurrences';
/** GET /api/team/storage: the team's rows per table, and the database's size. */
export interface Storage {
  /** Counted up to `capped_at`: a count equal to it means at least that many. */
  rows: Record<StoredTable, number>;
  capped_at: number;
  /** null when the platform does not report it. */
  database_bytes: number | null;
}

export interface ActivityEntry {
  id: string;
  actor: { id: string; email: string | null } | null;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: Record<string, unknown> | null;
  created_at: number;
}

export type KeyService = 'openai' | 'anthropic' | 'openai_compatible';
export interface ProviderKey {
  id: string;
  name: string;
  service: KeyService;
  base_url: string;
  last4: string;
  status: 'untested' | 'valid' | 'invalid';
  usage_count: number;
  last_used_at: number | null;
  created_at: number;
  rotated_at: number | null;
}

export interface KeyTest {
  valid: boolean;
  status: ProviderKey['status'];
  http_status: number | null;
  latency_ms: number | null;
  message?: string;
}

export interface LlmStep {
  id: string;
  kind: 'llm';
  agent: string;
  key_id: string;
  model: string;
  prompt: string;
  system?: string;
  max_tokens?: number;
}
export interface HttpStep {
  id: string;
  kind: 'http';
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}
export type Step = LlmStep | HttpStep;

export interface WorkflowSummary {
  id: string;
  name: string;
  description: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}
export interface Workflow extends WorkflowSummary {
  steps: Step[];
}

export type ExecutionStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
export const EXECUTION_STATUSES: ExecutionStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'];

export interface Execution {
  id: string;
  workflow_id: string;
  workflow_name?: string;
  workflow_version: number;
  status: ExecutionStatus;
  error: unknown;
  retry_of: string | null;
  schedule_id?: string | null;
  /** The run's trace (32 hex); older servers leave it out and it is the id without dashes. */
  trace_id?: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
}

export interface Tokens {
  input?: number;
  cache_read?: number;
  cache_write?: number;
  output?: number;
  reasoning?: number;
  total?: number;
}

export interface ExecutionStep {
  id: string;
  kind: 'llm' | 'http';
  agent: string | null;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  attempts?: number;
  started_at: number | null;
  completed_at: number | null;
  output: string | null;
  error: unknown;
  tokens: Tokens | null;
  cost_nusd: number | null;
  cost_usd: number | null;
}
export interface ExecutionDetail extends Execution {
  input: unknown;
  steps: ExecutionStep[];
}

export interface ExecutionEvent {
  execution_id: string;
  status: ExecutionStatus;
  at: number;
  workflow_id: string;
  workflow_name: string;
}

export interface Schedule {
  id: string;
  workflow_id: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  input: Record<string, unknown>;
  overlap: 'skip' | 'allow';
  next_run_at: number | null;
  last_run_at: number | null;
  consecutive_failures?: number;
  disabled_reason?: string | null;
  created_at: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  checks?: Record<string, { state: string; latency_ms?: number; last_tick_at?: number | null; error?: string; backlog?: number; running?: number; oldest_pending_at?: number | null }>;
}

export type Range = '24h' | '7d' | '30d' | '90d';
export const RANGES: Range[] = ['24h', '7d', '30d', '90d'];

export interface AnalyticsPeriod {
  actions: number;
  unique_users: number;
  sessions: number;
  executions: number;
  success_rate: number | null;
  tokens: number;
  cost_usd: number;
  errors: number;
}
export interface AnalyticsSummary {
  range: string;
  current: AnalyticsPeriod;
  previous: AnalyticsPeriod;
}
export interface ComponentStats {
  component: string;
  actions: number;
  users: number;
  metrics: Record<string, number>;
}
export interface Trend {
  metric: string;
  interval: 'hour' | 'day';
  buckets: { ts: number; value: number }[];
}

/** A token figure: a total, or the buckets with their total. */
export type TokenCount = number | Tokens;

/** The total of a token figure, whichever form it comes in. */
export function tokenTotal(t: TokenCount | null | undefined): number {
  if (typeof t === 'number') return t;
  if (!t) return 0;
  return t.total ?? (t.input ?? 0) + (t.cache_read ?? 0) + (t.cache_write ?? 0) + (t.output ?? 0) + (t.reasoning ?? 0);
}

export interface TokenUsage {
  calls: number;
  tokens: Required<Tokens>;
  cost_nusd: number;
  cost_usd: number;
  daily: { date: string; calls: number; tokens: TokenCount; cost_nusd: number; cost_usd: number }[];
  projection: { month_end_cost_usd: number };
  /** The gateway's cache hits in the window and what they saved (older servers leave it out). */
  cache?: { hits: number; saved_nusd: number; saved_usd: number };
}
export type BreakdownBy = 'model' | 'agent' | 'workflow' | 'key' | 'source';
export interface Breakdown {
  by: BreakdownBy;
  data: { key: string; name: string; calls: number; tokens: TokenCount; cost_nusd: number; cost_usd: number }[];
}
export interface Budget {
  /** null: no budget. */
  monthly_usd: number | null;
  /** Runs that would go over it are refused, not just reported. */
  enforce: boolean;
  month?: string;
  spent_usd?: number;
  reserved_usd?: number;
  thresholds?: number[];
  alerts?: { threshold: number; spent_nusd: number; budget_nusd: number; crossed_at: number }[];
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];
export interface ErrorIssue {
  id: string;
  fingerprint: string;
  type: string;
  message: string;
  severity: Severity;
  status: 'unresolved' | 'resolved' | 'regressed';
  count: number;
  first_seen_at: number;
  last_seen_at: number;
  resolved_at: number | null;
  workflow_id: string | null;
  step_id: string | null;
}
export interface ErrorOccurrence {
  id?: string;
  type?: string;
  source?: string;
  detail?: string | null;
  message?: string;
  stack?: string | null;
  execution_id?: string | null;
  /** Set on occurrences raised by a trace's span. */
  trace_id?: string | null;
  span_id?: string | null;
  agent?: string | null;
  provider_status?: number | null;
  created_at?: number;
  context?: unknown;
}
export interface ErrorDetail extends ErrorIssue {
  occurrences?: ErrorOccurrence[];
  resolution_notes?: string | null;
}

export type NotificationCategory = 'workflow' | 'system' | 'team' | 'billing';
export const NOTIFICATION_CATEGORIES: NotificationCategory[] = ['workflow', 'system', 'team', 'billing'];
export interface Notification {
  id: string;
  category: NotificationCategory;
  type: string;
  title: string;
  message: string;
  link: string | null;
  created_at: number;
  read: boolean;
}

export type TraceStatus = 'ok' | 'error' | 'unset';

export interface TraceSummary {
  /** The 32-hex trace id. */
  id: string;
  name: string;
  service: string | null;
  started_at: number;
  duration_ms: number;
  span_count: number;
  llm_calls: number;
  tokens: Tokens | null;
  cost_nusd: number | null;
  cost_usd: number | null;
  status: TraceStatus;
  agents: string[];
  models: string[];
  execution_id: string | null;
}

export interface SpanEvent {
  name: string;
  /** Epoch ms (`time`; some servers say `time_ms`). */
  time?: number;
  time_ms?: number;
  attributes?: Record<string, unknown> | null;
}

export interface Span {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  /** Epoch ms, possibly fractional. */
  started_at: number;
  /** Milliseconds since the trace's start, when the server sends it (sub-ms precision). */
  offset_ms?: number;
  duration_ms: number;
  status: TraceStatus;
  status_message: string | null;
  service?: string | null;
  operation: string | null;
  provider: string | null;
  model: string | null;
  agent: string | null;
  tool: string | null;
  tokens: Tokens | null;
  cost_nusd: number | null;
  cost_usd: number | null;
  attributes: Record<string, unknown> | null;
  events: SpanEvent[] | null;
  /** GenAI messages as sent: `{role, parts}` or `{role, content}`; rendered through lib/trace.ts. */
  input_messages: unknown[] | null;
  output_messages: unknown[] | null;
  truncated: boolean;
}

export interface TraceDetail extends TraceSummary {
  spans: Span[];
  spans_truncated: boolean;
}
