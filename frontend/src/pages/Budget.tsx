// The team's monthly budget (GET/PUT /api/budgets): everyone sees it and this month's spending;
// admins set or remove it, and choose whether runs that would exceed it are refused. Beacon
// notifies at the thresholds (50, 80 and 100%).

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Budget } from '../api/types';
import { pct, usd } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import { Field, FormError, useAction } from '../ui/form';
import { Async } from '../ui/states';
import { toast } from '../ui/toast';

export function BudgetPanel() {
  const r = useResource((signal) => api.get<Budget>('/api/budgets', { signal }), []);
  return (
    <>
      <h2>Monthly budget</h2>
      <Async r={r} what="Budgets">
        {(b) => <BudgetBody b={b} onSaved={r.set} />}
      </Async>
    </>
  );
}

function BudgetBody({ b, onSaved }: { b: Budget; onSaved: (b: Budget) => void }) {
  const isAdmin = useCan('admin');
  const [value, setValue] = useState(b.monthly_usd === null ? '' : String(b.monthly_usd));
  const [enforce, setEnforce] = useState(b.enforce);
  const save = useAction(async () => {
    const monthly = value.trim() === '' ? null : Number(value);
    const saved = await api.put<Budget>('/api/budgets', { monthly_usd: monthly, enforce });
    track('app.usage', 'set_budget');
    toast({ kind: 'success', title: monthly === null ? 'Budget removed' : `Budget set to ${usd(monthly)} a month` });
    onSaved(saved);
  });
  const spent = b.spent_usd ?? 0;
  const share = b.monthly_usd ? spent / b.monthly_usd : null;
  const thresholds = (b.thresholds ?? [50, 80, 100]).map((t) => `${t}%`).join(', ');
  return (
    <>
      <p data-budget>
        {b.monthly_usd === null ? (
          'No budget set.'
        ) : (
          <>
            {usd(spent)} of {usd(b.monthly_usd)} spent{b.month ? ` in ${b.month}` : ' this month'} ({pct(share)})
            {b.reserved_usd ? `, ${usd(b.reserved_usd)} held by calls in flight` : ''}. Notifications at {thresholds}
            {b.enforce ? '; runs that would go over it are refused.' : '.'}
          </>
        )}
      </p>
      {share !== null && <progress max={1} value={Math.min(share, 1)} aria-label="Share of the budget spent" />}
      {(b.alerts ?? []).length > 0 && <p class="muted small">Crossed this month: {(b.alerts ?? []).map((a) => `${a.threshold}%`).join(', ')}</p>}
      {isAdmin && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <Field id="budget" label="Monthly budget (USD, empty for none)" error={save.fields.monthly_usd}>
            <input id="budget" type="number" min="0" step="0.01" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </Field>
          <label class="check">
            <input type="checkbox" checked={enforce} onChange={(e) => setEnforce(e.currentTarget.checked)} /> Refuse runs that would exceed it
          </label>
          <button type="submit" class="btn" disabled={save.busy}>
            Save budget
          </button>
        </form>
      )}
      <FormError error={save.error} />
    </>
  );
}
