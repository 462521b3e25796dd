// The team's monthly budget (GET/PUT /api/budgets): everyone sees it, admins set it. Beacon
// notifies at 50, 80 and 100% of it.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Budget } from '../api/types';
import { usd } from '../lib/format';
import { useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import { Field, FormError, useAction } from '../ui/form';
import { Async } from '../ui/states';
import { toast } from '../ui/toast';

/** The monthly amount, whichever name the response gives it. */
function amount(b: Budget | null): number | null {
  if (!b) return null;
  const v = b.monthly_usd ?? (b as Record<string, unknown>).amount_usd ?? (b as Record<string, unknown>).monthly_budget_usd;
  return typeof v === 'number' ? v : null;
}

export function BudgetPanel() {
  const isAdmin = useCan('admin');
  const r = useResource((signal) => api.get<Budget | null>('/api/budgets', { signal }), []);
  const [value, setValue] = useState('');
  const save = useAction(async () => {
    const n = value.trim() === '' ? null : Number(value);
    const saved = await api.put<Budget>('/api/budgets', { monthly_usd: n });
    track('app.usage', 'set_budget');
    toast({ kind: 'success', title: n === null ? 'Budget removed' : `Budget set to ${usd(n)} a month` });
    r.set(saved);
    setValue('');
  });
  return (
    <>
      <h2>Monthly budget</h2>
      <Async r={r} what="Budgets">
        {(b) => (
          <>
            <p data-budget>{amount(b) === null ? 'No budget set.' : `${usd(amount(b))} a month; you are notified at 50%, 80% and 100%.`}</p>
            {isAdmin && (
              <form
                class="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  void save.run();
                }}
              >
                <Field id="budget" label="Monthly budget (USD)" error={save.fields.monthly_usd}>
                  <input id="budget" type="number" min="0" step="0.01" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
                </Field>
                <button type="submit" class="btn" disabled={save.busy}>
                  Save budget
                </button>
              </form>
            )}
            <FormError error={save.error} />
          </>
        )}
      </Async>
    </>
  );
}
