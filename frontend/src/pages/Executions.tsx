// The execution monitor: every run of the team's workflows, filtered by status and workflow and
// searched by workflow name, kept current by the executions stream without reloading.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api/client';
import { useWorkflows } from '../api/queries';
import type { Execution, ExecutionEvent, Page } from '../api/types';
import { EXECUTION_STATUSES } from '../api/types';
import { duration } from '../lib/format';
import { LiveIndicator, useEventStream } from '../lib/live';
import { useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, RoleNote, StatusBadge, Table, Time } from '../ui/bits';
import { Async, Empty } from '../ui/states';
import { ExecutionActions } from './execution-actions';

export default function Executions({ query }: PageProps) {
  const statuses = (query.get('status') ?? '').split(',').filter(Boolean);
  const workflow = query.get('workflow') ?? '';
  const q = query.get('q') ?? '';
  const canRun = useCan('member');
  const [search, setSearch] = useState(q);
  const [more, setMore] = useState<{ rows: Execution[]; cursor: string | null }>({ rows: [], cursor: null });

  const workflows = useWorkflows();
  const filterQs = qs({ status: statuses.join(','), workflow, q });
  const list = useResource((signal) => api.get<Page<Execution>>(`/api/executions${filterQs}${filterQs ? '&' : '?'}limit=50`, { signal }), [filterQs]);
  useEffect(() => setMore({ rows: [], cursor: null }), [filterQs]);

  // Debounced search into the URL (so a filtered view can be shared or bookmarked).
  useEffect(() => {
    if (search === q) return;
    const t = window.setTimeout(() => setQuery({ q: search.trim() || null }), 300);
    return () => window.clearTimeout(t);
  }, [search]);

  // Live: a known run changes status in place; an unknown one means a new run, so reload.
  const reloadSoon = useRef<number | undefined>(undefined);
  const live = useEventStream<ExecutionEvent>('/api/executions/stream', ['execution'], (_type, ev) => {
    const patch = (rows: Execution[]) => rows.map((r) => (r.id === ev.execution_id ? { ...r, status: ev.status, ...timesFor(r, ev) } : r));
    if (list.data?.data.some((r) => r.id === ev.execution_id)) {
      list.set({ ...list.data, data: patch(list.data.data) });
    } else if (more.rows.some((r) => r.id === ev.execution_id)) {
      setMore({ ...more, rows: patch(more.rows) });
    } else {
      window.clearTimeout(reloadSoon.current);
      reloadSoon.current = window.setTimeout(() => list.reload(), 250);
    }
  });

  const toggleStatus = (s: string) => {
    const next = statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s];
    track('app.executions', 'filter_status', { statuses: next });
    setQuery({ status: next.join(',') || null });
  };

  const loadMore = async () => {
    const cursor = more.cursor ?? list.data?.next_cursor;
    if (!cursor) return;
    const page = await api.get<Page<Execution>>(`/api/executions${filterQs}${filterQs ? '&' : '?'}limit=50&cursor=${encodeURIComponent(cursor)}`);
    setMore({ rows: [...more.rows, ...page.data], cursor: page.next_cursor });
  };
  const cursor = more.rows.length ? more.cursor : list.data?.next_cursor;
  const filtered = statuses.length > 0 || workflow !== '' || q !== '';

  return (
    <section>
      <PageHead title="Executions" sub="Every run of your workflows, live.">
        <LiveIndicator state={live} />
      </PageHead>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <fieldset class="chips">
          <legend>Status</legend>
          {EXECUTION_STATUSES.map((s) => (
            <label key={s} class={`chip ${statuses.includes(s) ? 'on' : ''}`}>
              <input type="checkbox" checked={statuses.includes(s)} onChange={() => toggleStatus(s)} /> {s.replace('_', ' ')}
            </label>
          ))}
        </fieldset>
        <label>
          Workflow
          <select id="filter-workflow" value={workflow} onChange={(e) => setQuery({ workflow: e.currentTarget.value || null })}>
            <option value="">All workflows</option>
            {workflows.data?.data.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input id="filter-q" type="search" placeholder="Workflow name" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </form>
      {!canRun && <RoleNote>Your role can watch runs; cancelling and retrying need the member role.</RoleNote>}
      <Async
        r={list}
        isEmpty={(d) => d.data.length === 0}
        empty={
          <Empty title={filtered ? 'No executions match these filters.' : 'No executions yet.'}>
            {!filtered && (
              <p>
                Run a workflow from the <a href="/workflows">Workflows</a> page and it appears here as it happens.
              </p>
            )}
          </Empty>
        }
      >
        {(d) => (
          <>
            <Table label="Executions">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Workflow</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th>
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...d.data, ...more.rows].map((e) => (
                  <tr key={e.id} data-execution-id={e.id}>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td>
                      <a href={`/executions/${e.id}`}>{e.workflow_name ?? e.workflow_id}</a>
                      {e.retry_of && <span class="muted small"> · retry</span>}
                      {e.schedule_id && <span class="muted small"> · scheduled</span>}
                    </td>
                    <td>
                      <Time ms={e.started_at ?? e.created_at} />
                    </td>
                    <td>{duration(e.started_at, e.completed_at)}</td>
                    <td class="actions">{canRun && <ExecutionActions execution={e} onChanged={list.reload} compact />}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {cursor && (
              <button type="button" class="btn" onClick={() => void loadMore()}>
                Load more
              </button>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

function timesFor(r: Execution, ev: ExecutionEvent): Partial<Execution> {
  if (ev.status === 'running' && !r.started_at) return { started_at: ev.at };
  if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(ev.status)) return { completed_at: ev.at };
  return {};
}
