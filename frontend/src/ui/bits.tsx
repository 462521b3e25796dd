// Small presentational pieces shared by pages.

import type { ComponentChildren } from 'preact';
import { dateTime, ago } from '../lib/format';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`} data-status={status}>{status.replace('_', ' ')}</span>;
}

export function Time({ ms }: { ms: number | null | undefined }) {
  if (!ms) return <span class="muted">—</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={dateTime(ms)}>
      {ago(ms)}
    </time>
  );
}

export function PageHead({ title, children, sub }: { title: string; children?: ComponentChildren; sub?: ComponentChildren }) {
  return (
    <header class="page-head">
      <div>
        <h1>{title}</h1>
        {sub && <p class="muted">{sub}</p>}
      </div>
      {children && <div class="page-actions">{children}</div>}
    </header>
  );
}

/** A note on why actions are missing, so a lower role is not left guessing. */
export function RoleNote({ children }: { children: ComponentChildren }) {
  return (
    <p class="role-note" data-role-note>
      {children}
    </p>
  );
}

export function Table({ children, label }: { children: ComponentChildren; label: string }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}

export function Card({ label, value, children }: { label: string; value: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="card-value">{value}</div>
      {children}
    </div>
  );
}
