// The Team page's Data section: how long raw rows are kept (GET/PUT /api/team/retention; everyone
// reads, the owner sets), erasing one end user's or session's data for a privacy request
// (POST /api/team/erase, owner only, behind a confirmation) and what the team stores
// (GET /api/team/storage: rows per table, counted up to a cap, and the database's size).

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Erasure, Retention, Storage, StoredTable } from '../api/types';
import { bytes, capped, counted, num } from '../lib/format';
import { useResource, type Resource } from '../lib/resource';
import { useSession } from '../lib/session';
import { track } from '../lib/telemetry';
import { RoleNote, Table } from '../ui/bits';
import { Dialog } from '../ui/Dialog';
import { Field, FormError, useAction } from '../ui/form';
import { Async } from '../ui/states';
import { toast } from '../ui/toast';

const KEPT: { key: keyof Retention; id: string; label: string; defaultDays: number }[] = [
  { key: 'events_days', id: 'retention-events', label: 'Telemetry events', defaultDays: 90 },
  { key: 'traces_days', id: 'retention-traces', label: 'Trace spans (with message content)', defaultDays: 30 },
  { key: 'executions_days', id: 'retention-executions', label: 'Executions (with step outputs)', defaultDays: 90 },
];

const TABLES: [StoredTable, string][] = [
  ['events', 'Telemetry events'],
  ['spans', 'Trace spans'],
  ['traces', 'Traces'],
  ['executions', 'Executions'],
  ['llm_usage', 'LLM calls (token usage)'],
  ['error_occurrences', 'Error occurrences'],
];

type Subject = 'user_id' | 'session_id';
const SUBJECTS: Record<Subject, string> = { user_id: 'End user id', session_id: 'Session id' };

/** `onChanged`: a setting was saved or data erased (the activity log has a new entry). */
export function DataSection({ onChanged }: { onChanged: () => void }) {
  const isOwner = useSession().me.role === 'owner';
  const storage = useResource((signal) => api.get<Storage>('/api/team/storage', { signal }), []);
  return (
    <section class="data-section" aria-labelledby="data-title" data-section="data">
      <h2 id="data-title">Data</h2>
      {!isOwner && <RoleNote>Only the team's owner can change how long data is kept and erase an end user's or a session's data.</RoleNote>}
      <h3>Retention</h3>
      <RetentionPanel isOwner={isOwner} onSaved={onChanged} />
      {isOwner && (
        <>
          <h3>Erase an end user's or a session's data</h3>
          <EraseForm
            onErased={() => {
              storage.reload();
              onChanged();
            }}
          />
        </>
      )}
      <h3>Stored rows</h3>
      <StoragePanel r={storage} />
    </section>
  );
}

function RetentionPanel({ isOwner, onSaved }: { isOwner: boolean; onSaved: () => void }) {
  const r = useResource((signal) => api.get<Retention>('/api/team/retention', { signal }), []);
  return (
    <>
      <p class="muted">
        How many days raw rows are kept, from 1 to 400 (defaults: {KEPT.map((k) => k.defaultDays).join(', ')}). Hourly rollups, cost totals and error issues are kept regardless, so analytics over
        older ranges still answer.
      </p>
      <Async r={r} what="Retention">
        {(kept) => <RetentionForm kept={kept} isOwner={isOwner} onSaved={(saved) => (r.set(saved), onSaved())} />}
      </Async>
    </>
  );
}

function asForm(kept: Retention): Record<keyof Retention, string> {
  return { events_days: String(kept.events_days), traces_days: String(kept.traces_days), executions_days: String(kept.executions_days) };
}

function RetentionForm({ kept, isOwner, onSaved }: { kept: Retention; isOwner: boolean; onSaved: (r: Retention) => void }) {
  const [form, setForm] = useState(() => asForm(kept));
  const save = useAction(async () => {
    const body: Retention = { events_days: Number(form.events_days), traces_days: Number(form.traces_days), executions_days: Number(form.executions_days) };
    const saved = await api.put<Retention>('/api/team/retention', body);
    track('app.team', 'set_retention');
    setForm(asForm(saved));
    toast({ kind: 'success', title: 'Retention saved' });
    onSaved(saved);
  });
  return (
    <>
      <form
        class="inline-form retention"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        {KEPT.map((k) => (
          <Field key={k.key} id={k.id} label={k.label} error={save.fields[k.key]}>
            <input
              id={k.id}
              type="number"
              inputMode="numeric"
              min="1"
              max="400"
              step="1"
              required
              readOnly={!isOwner}
              value={form[k.key]}
              onInput={(e) => setForm({ ...form, [k.key]: e.currentTarget.value })}
            />
          </Field>
        ))}
        {isOwner && (
          <button type="submit" class="btn btn-primary" disabled={save.busy}>
            {save.busy ? 'Saving…' : 'Save retention'}
          </button>
        )}
      </form>
      <FormError error={save.error} />
    </>
  );
}

function EraseForm({ onErased }: { onErased: () => void }) {
  const [kind, setKind] = useState<Subject>('user_id');
  const [value, setValue] = useState('');
  const [confirming, setConfirming] = useState<{ kind: Subject; value: string } | null>(null);
  const [done, setDone] = useState<{ kind: Subject; value: string; counts: Erasure } | null>(null);
  const erase = useAction(async (subject: { kind: Subject; value: string }) => {
    const counts = await api.post<Erasure>('/api/team/erase', { [subject.kind]: subject.value });
    track('app.team', 'erase', { subject: subject.kind });
    setDone({ ...subject, counts });
    setValue('');
    setConfirming(null);
    onErased();
  });
  // A 422 names the field (`user_id`); read it as the label the form shows.
  const fieldErrors = Object.entries(erase.fields).map(([f, m]) => `${SUBJECTS[f as Subject] ?? f} ${m}`);
  return (
    <>
      <p class="muted">For a privacy request: deletes everything Beacon holds about one end user of your product, or one session — their telemetry events, trace spans and error occurrences. Rollups are corrected to match.</p>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const subject = value.trim();
          if (!subject) return;
          erase.clear();
          setDone(null);
          setConfirming({ kind, value: subject });
        }}
      >
        <Field id="erase-kind" label="Erase by">
          <select id="erase-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Subject)}>
            {(Object.keys(SUBJECTS) as Subject[]).map((s) => (
              <option key={s} value={s}>
                {SUBJECTS[s]}
              </option>
            ))}
          </select>
        </Field>
        <Field id="erase-subject" label={SUBJECTS[kind]} error={erase.fields[kind]}>
          <input id="erase-subject" class="mono" required autoComplete="off" spellcheck={false} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="btn btn-danger-quiet">
          Erase…
        </button>
      </form>
      {done && (
        <p class="notice" role="status" data-erased>
          Erased {counted(done.counts.events, 'event')}, {counted(done.counts.spans, 'span')} and {counted(done.counts.occurrences, 'error occurrence')} of {SUBJECTS[done.kind].toLowerCase()}{' '}
          <code>{done.value}</code>.
        </p>
      )}
      {confirming && (
        <Dialog title="Erase this data for good?" onClose={() => setConfirming(null)}>
          <p>
            This permanently deletes the telemetry events, trace spans and error occurrences of {SUBJECTS[confirming.kind].toLowerCase()} <code>{confirming.value}</code>. It cannot be
            undone.
          </p>
          <FormError error={fieldErrors.length ? fieldErrors.join('; ') : erase.error} />
          <div class="dialog-actions">
            <button type="button" class="btn" onClick={() => setConfirming(null)}>
              Cancel
            </button>
            <button type="button" class="btn btn-danger" data-confirm-erase disabled={erase.busy} onClick={() => void erase.run(confirming)}>
              {erase.busy ? 'Erasing…' : 'Erase'}
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function StoragePanel({ r }: { r: Resource<Storage> }) {
  return (
    <Async r={r} what="The storage summary">
      {(s) => (
        <>
          <Table label="Stored rows">
            <thead>
              <tr>
                <th>Data</th>
                <th class="num">Rows</th>
              </tr>
            </thead>
            <tbody>
              {TABLES.map(([table, label]) => (
                <tr key={table} data-stored={table}>
                  <td>{label}</td>
                  <td class="num">{capped(s.rows?.[table], s.capped_at)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
          <p data-database-size>
            Database size: {s.database_bytes === null || s.database_bytes === undefined ? <span class="muted">not reported</span> : bytes(s.database_bytes)}
          </p>
          <p class="muted small">Rows are counted up to {num(s.capped_at)} per table; a figure ending in + means at least that many.</p>
        </>
      )}
    </Async>
  );
}
