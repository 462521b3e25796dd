// Create or edit a workflow: its name, description and steps (LLM calls through a team key, or
// HTTP requests). Every save is a new version; a 422 points at the step and field to fix.

import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client';
import { useKeys } from '../api/queries';
import type { ProviderKey, Workflow } from '../api/types';
import { useResource } from '../lib/resource';
import { navigate } from '../lib/router';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, RoleNote, Time } from '../ui/bits';
import { Field, FormError, useAction } from '../ui/form';
import { Async } from '../ui/states';
import { toast } from '../ui/toast';
import { RunDialog } from './RunDialog';
import { blankStep, StepEditor, toDraft, toStep, type Draft } from './step-editor';

export default function WorkflowEdit({ params }: PageProps) {
  const id = params.id;
  const r = useResource((signal) => (id ? api.get<Workflow>(`/api/workflows/${id}`, { signal }) : Promise.resolve(null)), [id]);
  const keys = useKeys();
  return (
    <section>
      <p class="crumbs">
        <a href="/workflows">← Workflows</a>
      </p>
      <Async r={r}>{(wf) => <Editor key={wf?.id ?? 'new'} workflow={wf} keys={keys.data?.data ?? []} onSaved={r.set} />}</Async>
    </section>
  );
}

function Editor({ workflow, keys, onSaved }: { workflow: Workflow | null; keys: ProviderKey[]; onSaved: (w: Workflow) => void }) {
  const canEdit = useCan('member');
  const [name, setName] = useState(workflow?.name ?? '');
  const [description, setDescription] = useState(workflow?.description ?? '');
  const [steps, setSteps] = useState<Draft[]>(() => (workflow ? workflow.steps.map(toDraft) : [blankStep(0, keys)]));
  const [running, setRunning] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  // A new workflow's first step picks the first key once keys arrive.
  useEffect(() => {
    if (!workflow && keys[0]) setSteps((s) => s.map((d) => (d.kind === 'llm' && !d.key_id ? { ...d, key_id: keys[0]?.id ?? '' } : d)));
  }, [keys.length]);

  const save = useAction(async () => {
    const body = { name, description: description.trim() || null, steps: steps.map(toStep) };
    if (workflow) {
      const saved = await api.patch<Workflow>(`/api/workflows/${workflow.id}`, body);
      track('app.workflows', 'update');
      toast({ kind: 'success', title: `Saved as version ${saved.version}` });
      onSaved(saved);
    } else {
      const created = await api.post<Workflow>('/api/workflows', body);
      track('app.workflows', 'create');
      toast({ kind: 'success', title: 'Workflow created' });
      navigate(`/workflows/${created.id}`, { replace: true });
    }
  });
  const remove = useAction(async () => {
    if (!workflow) return;
    await api.del(`/api/workflows/${workflow.id}`);
    track('app.workflows', 'delete');
    toast({ kind: 'success', title: 'Workflow deleted' });
    navigate('/workflows');
  });

  const update = (i: number, d: Draft) => setSteps(steps.map((s, j) => (j === i ? d : s)));
  const move = (i: number, by: number) => {
    const next = [...steps];
    const [item] = next.splice(i, 1);
    if (item) next.splice(i + by, 0, item);
    setSteps(next);
  };

  return (
    <>
      <PageHead title={workflow ? workflow.name : 'New workflow'} sub={workflow ? <>Version {workflow.version} · updated <Time ms={workflow.updated_at} /></> : undefined}>
        {workflow && (
          <a class="btn" href={`/executions?workflow=${workflow.id}`}>
            Runs
          </a>
        )}
        {workflow && canEdit && (
          <button type="button" class="btn btn-primary" onClick={() => setRunning(true)}>
            Run
          </button>
        )}
      </PageHead>
      {!canEdit && <RoleNote>Your role can read this workflow; editing and running it need the member role.</RoleNote>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <fieldset disabled={!canEdit} class="plain">
          <Field id="wf-name" label="Name" error={save.fields.name}>
            <input id="wf-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field id="wf-description" label="Description (optional)" error={save.fields.description}>
            <input id="wf-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
          <h2>Steps</h2>
          {keys.length === 0 && (
            <p class="muted">
              LLM steps need a provider key: add one on the <a href="/keys">API keys</a> page.
            </p>
          )}
          {save.fields.steps && <p class="field-error">Steps {save.fields.steps}</p>}
          <ol class="step-list">
            {steps.map((d, i) => (
              <StepEditor
                key={i}
                index={i}
                draft={d}
                keys={keys}
                errors={save.fields}
                onChange={(nd) => update(i, nd)}
                onRemove={steps.length > 1 ? () => setSteps(steps.filter((_, j) => j !== i)) : undefined}
                onMove={(by) => move(i, by)}
                last={i === steps.length - 1}
              />
            ))}
          </ol>
          {canEdit && (
            <button type="button" class="btn" onClick={() => setSteps([...steps, blankStep(steps.length, keys)])}>
              Add step
            </button>
          )}
        </fieldset>
        <FormError error={save.error} />
        {canEdit && (
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" disabled={save.busy}>
              {save.busy ? 'Saving…' : workflow ? 'Save new version' : 'Create workflow'}
            </button>
            {workflow &&
              (confirmDelete ? (
                <span class="confirm">
                  Delete this workflow? Its runs stay in history.{' '}
                  <button type="button" class="btn btn-danger" onClick={() => void remove.run()} disabled={remove.busy}>
                    Yes, delete
                  </button>{' '}
                  <button type="button" class="btn" onClick={() => setConfirmDelete(false)}>
                    Keep it
                  </button>
                </span>
              ) : (
                <button type="button" class="btn btn-danger-quiet" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              ))}
          </div>
        )}
        <FormError error={remove.error} />
      </form>
      {running && workflow && <RunDialog workflow={workflow} onClose={() => setRunning(false)} />}
    </>
  );
}
