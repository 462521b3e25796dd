// One error issue: what, where and how often, its recent occurrences with stack traces, and
// resolve (with notes) or reopen for members.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { ErrorDetail as Detail, ErrorOccurrence } from '../api/types';
import { dateTime, json, num } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, RoleNote, StatusBadge } from '../ui/bits';
import { Field, FormError, useAction } from '../ui/form';
import { Async, Empty } from '../ui/states';
import { toast } from '../ui/toast';

/** The waterfall of the span that raised an occurrence (from a trace), when it names one. */
function traceLink(o: ErrorOccurrence): string | null {
  const ctx = o.context && typeof o.context === 'object' ? (o.context as Record<string, unknown>) : {};
  const trace = o.trace_id ?? ctx.trace_id;
  const span = o.span_id ?? ctx.span_id;
  if (typeof trace !== 'string' || !/^[0-9a-f]{32}$/i.test(trace)) return null;
  return `/traces/${trace.toLowerCase()}${typeof span === 'string' && span ? `?span=${encodeURIComponent(span)}` : ''}`;
}

function occurrences(d: Detail): ErrorOccurrence[] {
  const o = d as unknown as Record<string, unknown>;
  const list = d.occurrences ?? o.recent ?? o.recent_occurrences;
  return Array.isArray(list) ? (list as ErrorOccurrence[]) : [];
}

export default function ErrorDetail({ params }: PageProps) {
  const id = params.id ?? '';
  const canResolve = useCan('member');
  const r = useResource((signal) => api.get<Detail>(`/api/errors/${id}`, { signal }), [id]);
  const [notes, setNotes] = useState('');
  const resolve = useAction(async () => {
    const body = notes.trim() ? { notes: notes.trim() } : {};
    const updated = await api.post<Detail>(`/api/errors/${id}/resolve`, body);
    track('app.errors', 'resolve');
    toast({ kind: 'success', title: 'Issue resolved' });
    setNotes('');
    r.set({ ...r.data, ...updated } as Detail);
  });
  const reopen = useAction(async () => {
    const updated = await api.post<Detail>(`/api/errors/${id}/reopen`);
    track('app.errors', 'reopen');
    toast({ kind: 'success', title: 'Issue reopened' });
    r.set({ ...r.data, ...updated } as Detail);
  });
  return (
    <section>
      <p class="crumbs">
        <a href="/errors">← Error logs</a>
      </p>
      <Async r={r}>
        {(e) => (
          <>
            <PageHead title={e.type} sub={e.message}>
              <span class={`badge sev-${e.severity}`}>{e.severity}</span>
              <StatusBadge status={e.status} />
            </PageHead>
            <dl class="facts">
              <div>
                <dt>Occurrences</dt>
                <dd>{num(e.count)}</dd>
              </div>
              <div>
                <dt>First seen</dt>
                <dd>{dateTime(e.first_seen_at)}</dd>
              </div>
              <div>
                <dt>Last seen</dt>
                <dd>{dateTime(e.last_seen_at)}</dd>
              </div>
              {e.workflow_id && (
                <div>
                  <dt>Workflow</dt>
                  <dd>
                    <a href={`/workflows/${e.workflow_id}`}>open</a>
                    {e.step_id && <> · step {e.step_id}</>}
                  </dd>
                </div>
              )}
              {e.resolved_at && (
                <div>
                  <dt>Resolved</dt>
                  <dd>{dateTime(e.resolved_at)}</dd>
                </div>
              )}
            </dl>
            {e.resolution_notes && <p class="notice">Resolution notes: {e.resolution_notes}</p>}
            {!canResolve && <RoleNote>Resolving and reopening issues need the member role.</RoleNote>}
            {canResolve &&
              (e.status === 'resolved' ? (
                <div class="form-actions">
                  <button type="button" class="btn" disabled={reopen.busy} onClick={() => void reopen.run()}>
                    Reopen
                  </button>
                  <FormError error={reopen.error} />
                </div>
              ) : (
                <form
                  class="inline-form"
                  onSubmit={(ev) => {
                    ev.preventDefault();
                    void resolve.run();
                  }}
                >
                  <Field id="resolve-notes" label="Resolution notes (optional)" error={resolve.fields.notes}>
                    <input id="resolve-notes" value={notes} onInput={(ev) => setNotes(ev.currentTarget.value)} />
                  </Field>
                  <button type="submit" class="btn btn-primary" disabled={resolve.busy}>
                    Resolve
                  </button>
                  <FormError error={resolve.error} />
                </form>
              ))}
            <h2>Recent occurrences</h2>
            {occurrences(e).length === 0 ? (
              <Empty title="No occurrences recorded." />
            ) : (
              <ol class="occurrences">
                {occurrences(e).map((o, i) => (
                  <li key={o.id ?? i} class="step-card">
                    <header>
                      <strong>{dateTime(o.created_at)}</strong>
                      {o.agent && <span class="muted"> · agent {o.agent}</span>}
                      {o.provider_status ? <span class="muted"> · HTTP {o.provider_status}</span> : null}
                      {o.execution_id && (
                        <>
                          {' '}
                          · <a href={`/executions/${o.execution_id}`}>execution</a>
                        </>
                      )}
                      {traceLink(o) && (
                        <>
                          {' '}
                          · <a href={traceLink(o) as string}>trace</a>
                        </>
                      )}
                    </header>
                    {o.message && <p>{o.message}</p>}
                    {o.detail && <p class="muted small">{o.detail}</p>}
                    {o.stack && (
                      <details open={i === 0}>
                        <summary>Stack trace</summary>
                        <pre class="code">{o.stack}</pre>
                      </details>
                    )}
                    {o.context ? (
                      <details>
                        <summary>Context</summary>
                        <pre class="code">{json(o.context)}</pre>
                      </details>
                    ) : null}
                  </li>
                ))}
              </ol>
            )}
          </>
        )}
      </Async>
    </section>
  );
}
