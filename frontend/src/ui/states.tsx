// The states every page shows: loading, empty, error (403 explained), and "not on this server
// yet" for routes that answer 404 — never invented data in their place.

import type { ComponentChildren } from 'preact';
import { ApiError, isUnavailable } from '../api/client';
import type { Resource } from '../lib/resource';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state empty" data-state="empty">
      <p class="state-title">{title}</p>
      {children && <div class="state-body">{children}</div>}
    </div>
  );
}

export function Unavailable({ what }: { what: string }) {
  return (
    <div class="state unavailable" data-state="unavailable">
      <p class="state-title">{what} is not available on this server yet.</p>
      <p class="muted">This Beacon deployment does not serve that part of the API. Nothing is shown rather than made-up numbers.</p>
    </div>
  );
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `You do not have permission for this. ${e.message}`;
    if (e.status === 422) {
      const fields = Object.entries(e.fields());
      if (fields.length) return fields.map(([f, m]) => `${f} ${m}`).join('; ');
    }
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <div class={`state error ${forbidden ? 'forbidden' : ''}`} role="alert" data-state={forbidden ? 'forbidden' : 'error'}>
      <p class="state-title">{forbidden ? 'Not allowed' : 'Something went wrong'}</p>
      <p>{errorMessage(error)}</p>
      {onRetry && !forbidden && (
        <button type="button" class="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

interface AsyncProps<T> {
  r: Resource<T>;
  /** What the data is, for the "not available" state (a 404 from a collection route). */
  what?: string;
  isEmpty?: (d: T) => boolean;
  empty?: ComponentChildren;
  children: (d: T) => ComponentChildren;
}

/** Renders a resource's loading, error, unavailable, empty or ready state. */
export function Async<T>({ r, what, isEmpty, empty, children }: AsyncProps<T>) {
  if (r.state === 'error' && what && isUnavailable(r.error)) return <Unavailable what={what} />;
  if (r.state === 'error' && r.data === undefined) return <ErrorBox error={r.error} onRetry={r.reload} />;
  if (r.data === undefined) return <Loading />;
  return (
    <>
      {r.state === 'error' && <ErrorBox error={r.error} onRetry={r.reload} />}
      {isEmpty && isEmpty(r.data) ? empty : children(r.data)}
    </>
  );
}
