// One schedule: its settings, the next runs, and its history (the executions it started).

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import { useWorkflows } from '../api/queries';
import type { Execution, Page, Schedule } from '../api/types';
import { describeCron } from '../lib/cron';
import { duration, json } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import type { PageProps } from '../routes';
import { PageHead, StatusBadge, Table, Time } from '../ui/bits';
import { Async, Empty } from '../ui/states';
import { PreviewList, ScheduleForm } from './schedule-form';
import { setEnabled } from './Schedules';

export default function ScheduleDetail({ params }: PageProps) {
  const id = params.id ?? '';
  const canEdit = useCan('member');
  const r = useResource((signal) => api.get<Schedule>(`/api/schedules/${id}`, { signal }), [id]);
  const runs = useResource((signal) => api.get<Page<Execution>>(`/api/schedules/${id}/runs?limit=50`, { signal }), [id]);
  const workflows = useWorkflows();
  const [editing, setEditing] = useState(false);
  const name = (wid: string) => workflows.data?.data.find((w) => w.id === wid)?.name ?? 'Workflow';
  return (
    <section>
      <p class="crumbs">
        <a href="/schedules">← Scheduler</a>
      </p>
      <Async r={r}>
        {(s) => (
          <>
            <PageHead title={`${name(s.workflow_id)} · ${describeCron(s.cron)}`} sub={<code>{s.cron}</code>}>
              {canEdit && (
                <>
                  <button type="button" class="btn" onClick={() => void setEnabled(s, !s.enabled).then((x) => x && r.set(x))}>
                    {s.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" class="btn btn-primary" onClick={() => setEditing(true)}>
                    Edit
                  </button>
                </>
              )}
            </PageHead>
            <dl class="facts">
              <div>
                <dt>Status</dt>
                <dd>{s.enabled ? 'Enabled' : 'Disabled'}</dd>
              </div>
              <div>
                <dt>Time zone</dt>
                <dd>{s.timezone}</dd>
              </div>
              <div>
                <dt>Overlap</dt>
                <dd>{s.overlap === 'skip' ? 'skip while running' : 'allow'}</dd>
              </div>
              <div>
                <dt>Last run</dt>
                <dd>
                  <Time ms={s.last_run_at} />
                </dd>
              </div>
              {s.disabled_reason && (
                <div>
                  <dt>Disabled because</dt>
                  <dd>{s.disabled_reason}</dd>
                </div>
              )}
            </dl>
            {s.enabled ? <PreviewList cron={s.cron} timezone={s.timezone} /> : <p class="muted">Disabled: it will not run until enabled.</p>}
            <h2>Input</h2>
            <pre class="code">{json(s.input)}</pre>
            {editing && <ScheduleForm schedule={s} workflows={workflows.data?.data ?? []} onClose={() => setEditing(false)} onSaved={r.set} />}
          </>
        )}
      </Async>
      <h2>History</h2>
      <Async r={runs} isEmpty={(d) => d.data.length === 0} empty={<Empty title="This schedule has not started a run yet." />}>
        {(d) => (
          <Table label="Runs">
            <thead>
              <tr>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((e) => (
                <tr key={e.id}>
                  <td>
                    <a href={`/executions/${e.id}`}>
                      <StatusBadge status={e.status} />
                    </a>
                  </td>
                  <td>
                    <Time ms={e.started_at ?? e.created_at} />
                  </td>
                  <td>{duration(e.started_at, e.completed_at)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
    </section>
  );
}
