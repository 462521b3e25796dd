// Run a workflow with an input: the fields its templates use ({{input.x}}) are filled in as a
// starting point; POST /api/workflows/:id/execute, then to the new execution.

import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Workflow, WorkflowSummary } from '../api/types';
import { navigate } from '../lib/router';
import { track } from '../lib/telemetry';
import { Dialog } from '../ui/Dialog';
import { Field, FormError, parseObject, useAction } from '../ui/form';
import { toast } from '../ui/toast';

/** The `{{input.<field>}}` names a workflow's steps use. */
export function inputFields(wf: Workflow): string[] {
  const names = new Set<string>();
  const text = JSON.stringify(wf.steps);
  for (const m of text.matchAll(/\{\{\s*input\.([A-Za-z0-9_]+)/g)) if (m[1]) names.add(m[1]);
  return [...names];
}

/** The dialog's starting input: every field the steps read, empty, or `{}` when they read none. */
function blankInput(wf: Workflow): string {
  const fields = inputFields(wf);
  return fields.length ? JSON.stringify(Object.fromEntries(fields.map((f) => [f, ''])), null, 2) : '{}';
}

export function RunDialog({ workflow, onClose }: { workflow: WorkflowSummary | Workflow; onClose: () => void }) {
  // A workflow already loaded fills the input on the first render; a summary fills it when its
  // steps arrive.
  const [input, setInput] = useState(() => ('steps' in workflow ? blankInput(workflow) : '{}'));
  const [inputError, setInputError] = useState<string | undefined>();
  // One key per dialog: a double submit starts one execution, not two.
  const [idempotencyKey] = useState(() => `${Date.now()}-${Math.random().toString(36).slice(2)}`);
  useEffect(() => {
    if ('steps' in workflow) return;
    api.get<Workflow>(`/api/workflows/${workflow.id}`).then((wf) => setInput(blankInput(wf)), () => undefined);
  }, [workflow.id]);

  const run = useAction(async () => {
    const parsed = parseObject(input);
    if (parsed.error) {
      setInputError(`Input ${parsed.error}`);
      return;
    }
    setInputError(undefined);
    const r = await api.post<{ execution_id: string }>(`/api/workflows/${workflow.id}/execute`, { input: parsed.value }, { headers: { 'idempotency-key': idempotencyKey } });
    track('app.workflows', 'run');
    toast({ kind: 'success', title: `${workflow.name} started` });
    onClose();
    navigate(`/executions/${r.execution_id}`);
  });

  return (
    <Dialog title={`Run ${workflow.name}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run.run();
        }}
      >
        <Field id="run-input" label="Input (JSON object)" error={inputError ?? run.fields.input} hint="Steps read these as {{input.<field>}}.">
          <textarea id="run-input" rows={8} class="mono" value={input} onInput={(e) => setInput(e.currentTarget.value)} />
        </Field>
        <FormError error={run.error} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Close
          </button>
          <button type="submit" class="btn btn-primary" disabled={run.busy}>
            {run.busy ? 'Starting…' : 'Run'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
