// The workflow scheduler: every schedule with its expression in words, time zone, next and last
// run; members create, edit, enable, disable and delete them.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import { useWorkflows } from '../api/queries';
import type { Page, Schedule } from '../api/types';
import { describeCron } from '../lib/cron';
import { dateTimeZone } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import { PageHead, RoleNote, Table, Time } from '../ui/bits';
import { Async, Empty, errorMessage } from '../ui/states';
import { toast } from '../ui/toast';
import { ScheduleForm } from './schedule-form';

export async function setEnabled(s: Schedule, enabled: boolean): Promise<Schedule | null> {
  track('app.schedules', enabled ? 'enable' : 'disable');
  try {
    const saved = await api.patch<Schedule>(`/api/schedules/${s.id}`, { enabled });
    toast({ kind: 'success', title: enabled ? 'Schedule enabled' : 'Schedule disabled' });
    return saved;
  } catch (e) {
    toast({ kind: 'error', title: 'Not changed', message: errorMessage(e) });
    return null;
  }
}

export default function Schedules() {
  const canEdit = useCan('member');
  const list = useResource((signal) => api.get<Page<Schedule>>('/api/schedules?limit=200', { signal }), []);
  const workflows = useWorkflows();
  const [editing, setEditing] = useState<Schedule | 'new' | null>(null);
  const names = new Map((workflows.data?.data ?? []).map((w) => [w.id, w.name]));
  const hasWorkflows = (workflows.data?.data.length ?? 0) > 0;

  const remove = async (s: Schedule) => {
    if (!window.confirm('Delete this schedule? The runs it started stay in history.')) return;
    track('app.schedules', 'delete');
    try {
      await api.del(`/api/schedules/${s.id}`);
      toast({ kind: 'success', title: 'Schedule deleted' });
    } catch (e) {
      toast({ kind: 'error', title: 'Not deleted', message: errorMessage(e) });
    }
    list.reload();
  };

  return (
    <section>
      <PageHead title="Scheduler" sub="Run workflows on a cron expression, in a time zone.">
        {canEdit && (
          <button type="button" class="btn btn-primary" disabled={!hasWorkflows} onClick={() => setEditing('new')}>
            New schedule
          </button>
        )}
      </PageHead>
      {!canEdit && <RoleNote>Your role can see schedules; creating and changing them need the member role.</RoleNote>}
      {canEdit && workflows.state === 'ready' && !hasWorkflows && (
        <p class="muted">
          Schedules run workflows: <a href="/workflows/new">create a workflow</a> first.
        </p>
      )}
      <Async r={list} isEmpty={(d) => d.data.length === 0} empty={<Empty title="No schedules yet." />}>
        {(d) => (
          <Table label="Schedules">
            <thead>
              <tr>
                <th>Workflow</th>
                <th>When</th>
                <th>Next run</th>
                <th>Last run</th>
                <th>Enabled</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((s) => (
                <tr key={s.id} data-schedule-id={s.id}>
                  <td>
                    <a href={`/schedules/${s.id}`}>{names.get(s.workflow_id) ?? 'Workflow'}</a>
                  </td>
                  <td>
                    <code>{s.cron}</code>
                    <div class="small">{describeCron(s.cron)}</div>
                    <div class="muted small">{s.timezone}</div>
                  </td>
                  <td>{s.next_run_at ? dateTimeZone(s.next_run_at, s.timezone) : <span class="muted">—</span>}</td>
                  <td>
                    <Time ms={s.last_run_at} />
                    {s.disabled_reason && <div class="field-error small">{s.disabled_reason}</div>}
                  </td>
                  <td>
                    <label class="switch">
                      <input
                        type="checkbox"
                        aria-label="Enabled"
                        checked={s.enabled}
                        disabled={!canEdit}
                        onChange={async (e) => {
                          const saved = await setEnabled(s, e.currentTarget.checked);
                          if (saved) list.set({ ...d, data: d.data.map((x) => (x.id === s.id ? saved : x)) });
                          else list.reload();
                        }}
                      />
                      <span>{s.enabled ? 'On' : 'Off'}</span>
                    </label>
                  </td>
                  <td class="actions">
                    <a class="btn btn-small" href={`/schedules/${s.id}`}>
                      History
                    </a>
                    {canEdit && (
                      <>
                        <button type="button" class="btn btn-small" onClick={() => setEditing(s)}>
                          Edit
                        </button>
                        <button type="button" class="btn btn-small btn-danger-quiet" onClick={() => void remove(s)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
      {editing && <ScheduleForm schedule={editing === 'new' ? null : editing} workflows={workflows.data?.data ?? []} onClose={() => setEditing(null)} onSaved={() => list.reload()} />}
    </section>
  );
}
