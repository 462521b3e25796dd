// Create or edit a schedule: workflow, cron expression (in words, and the server's preview of
// the next runs in the chosen time zone), overlap policy, input.

import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { Schedule, WorkflowSummary } from '../api/types';
import { CRON_PRESETS, describeCron, localZone, timeZones } from '../lib/cron';
import { dateTimeZone } from '../lib/format';
import { track } from '../lib/telemetry';
import { Dialog } from '../ui/Dialog';
import { Field, FormError, parseObject, useAction } from '../ui/form';
import { toast } from '../ui/toast';

type Preview = { state: 'idle' } | { state: 'loading' } | { state: 'ok'; times: number[]; timezone: string } | { state: 'error'; message: string };

/** The server's next fire times for an expression, refreshed as the person types. */
export function usePreview(cron: string, timezone: string, count = 5): Preview {
  const [p, setP] = useState<Preview>({ state: 'idle' });
  useEffect(() => {
    if (!cron.trim()) return setP({ state: 'idle' });
    const ctl = new AbortController();
    setP({ state: 'loading' });
    const t = window.setTimeout(() => {
      const q = new URLSearchParams({ cron: cron.trim(), timezone: timezone.trim() || 'UTC', count: String(count) });
      api.get<{ times: number[]; timezone?: string }>(`/api/schedules/preview?${q}`, { signal: ctl.signal }).then(
        (r) => setP({ state: 'ok', times: r.times, timezone: r.timezone ?? timezone }),
        (e: unknown) => {
          if (ctl.signal.aborted) return;
          const fields = e instanceof ApiError ? e.fields() : {};
          const message = fields.cron ? `Cron ${fields.cron}` : fields.timezone ? `Time zone ${fields.timezone}` : e instanceof Error ? e.message : String(e);
          setP({ state: 'error', message });
        },
      );
    }, 300);
    return () => {
      window.clearTimeout(t);
      ctl.abort();
    };
  }, [cron, timezone, count]);
  return p;
}

export function PreviewList({ cron, timezone }: { cron: string; timezone: string }) {
  const p = usePreview(cron, timezone);
  return (
    <div class="preview" aria-live="polite" data-preview={p.state}>
      <p class="cron-words" data-cron-words>
        {describeCron(cron)}
        {timezone ? ` (${timezone})` : ''}
      </p>
      {p.state === 'loading' && <p class="muted">Working out the next runs…</p>}
      {p.state === 'error' && <p class="field-error">{p.message}</p>}
      {p.state === 'ok' &&
        (p.times.length ? (
          <>
            <p class="muted small">Next runs:</p>
            <ol class="preview-times">
              {p.times.map((t) => (
                <li key={t}>
                  <time dateTime={new Date(t).toISOString()}>{dateTimeZone(t, p.timezone)}</time>
                </li>
              ))}
            </ol>
          </>
        ) : (
          <p class="muted">This expression never fires.</p>
        ))}
    </div>
  );
}

interface Props {
  schedule: Schedule | null;
  workflows: WorkflowSummary[];
  onClose: () => void;
  onSaved: (s: Schedule) => void;
}

export function ScheduleForm({ schedule, workflows, onClose, onSaved }: Props) {
  const [form, setForm] = useState({
    workflow_id: schedule?.workflow_id ?? workflows[0]?.id ?? '',
    cron: schedule?.cron ?? '0 9 * * mon-fri',
    timezone: schedule?.timezone ?? localZone(),
    enabled: schedule?.enabled ?? true,
    overlap: schedule?.overlap ?? 'skip',
    input: schedule ? JSON.stringify(schedule.input ?? {}, null, 2) : '{}',
  });
  const [inputError, setInputError] = useState<string | undefined>();
  const zones = timeZones();
  const save = useAction(async () => {
    const parsed = parseObject(form.input);
    if (parsed.error) return setInputError(`Input ${parsed.error}`);
    setInputError(undefined);
    const body = { workflow_id: form.workflow_id, cron: form.cron.trim(), timezone: form.timezone.trim() || 'UTC', enabled: form.enabled, overlap: form.overlap, input: parsed.value };
    const saved = schedule ? await api.patch<Schedule>(`/api/schedules/${schedule.id}`, body) : await api.post<Schedule>('/api/schedules', body);
    track('app.schedules', schedule ? 'update' : 'create');
    toast({ kind: 'success', title: schedule ? 'Schedule saved' : 'Schedule created' });
    onSaved(saved);
    onClose();
  });
  const f = save.fields;
  return (
    <Dialog title={schedule ? 'Edit schedule' : 'New schedule'} onClose={onClose} wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <Field id="sch-workflow" label="Workflow" error={f.workflow_id}>
          <select id="sch-workflow" required value={form.workflow_id} onChange={(e) => setForm({ ...form, workflow_id: e.currentTarget.value })}>
            {workflows.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </Field>
        <div class="grid2">
          <Field id="sch-cron" label="Cron expression" error={f.cron} hint="minute hour day-of-month month day-of-week">
            <input id="sch-cron" class="mono" required value={form.cron} onInput={(e) => setForm({ ...form, cron: e.currentTarget.value })} />
          </Field>
          <Field id="sch-tz" label="Time zone" error={f.timezone}>
            <input id="sch-tz" list="tz-list" required value={form.timezone} onInput={(e) => setForm({ ...form, timezone: e.currentTarget.value })} />
            <datalist id="tz-list">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </Field>
        </div>
        <div class="presets" role="group" aria-label="Common schedules">
          {CRON_PRESETS.map((p) => (
            <button key={p.cron} type="button" class="btn btn-small" onClick={() => setForm({ ...form, cron: p.cron })}>
              {p.label}
            </button>
          ))}
        </div>
        <PreviewList cron={form.cron} timezone={form.timezone} />
        <div class="grid2">
          <Field id="sch-overlap" label="If the previous run is still going" error={f.overlap}>
            <select id="sch-overlap" value={form.overlap} onChange={(e) => setForm({ ...form, overlap: e.currentTarget.value as 'skip' | 'allow' })}>
              <option value="skip">Skip this run</option>
              <option value="allow">Start another run anyway</option>
            </select>
          </Field>
          <label class="check">
            <input type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} /> Enabled
          </label>
        </div>
        <Field id="sch-input" label="Input (JSON object)" error={inputError ?? f.input}>
          <textarea id="sch-input" rows={4} class="mono" value={form.input} onInput={(e) => setForm({ ...form, input: e.currentTarget.value })} />
        </Field>
        <FormError error={save.error} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={save.busy}>
            {save.busy ? 'Saving…' : schedule ? 'Save' : 'Create schedule'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
