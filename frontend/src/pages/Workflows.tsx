// The team's workflows: open one to edit it, run one with an input, or start a new one.

import { useState } from 'preact/hooks';
import { useWorkflows } from '../api/queries';
import type { WorkflowSummary } from '../api/types';
import { useCan } from '../lib/session';
import { PageHead, RoleNote, Table, Time } from '../ui/bits';
import { Async, Empty } from '../ui/states';
import { RunDialog } from './RunDialog';

export default function Workflows() {
  const canEdit = useCan('member');
  const list = useWorkflows();
  const [running, setRunning] = useState<WorkflowSummary | null>(null);
  return (
    <section>
      <PageHead title="Workflows" sub="Named, versioned lists of LLM and HTTP steps.">
        {canEdit && (
          <a class="btn btn-primary" href="/workflows/new">
            New workflow
          </a>
        )}
      </PageHead>
      {!canEdit && <RoleNote>Your role can read workflows; creating, editing and running them need the member role.</RoleNote>}
      <Async
        r={list}
        isEmpty={(d) => d.data.length === 0}
        empty={
          <Empty title="No workflows yet.">
            {canEdit ? <p>Create one with “New workflow”: a step can call an LLM through one of your API keys, or an HTTP endpoint.</p> : <p>Nobody on your team has created one yet.</p>}
          </Empty>
        }
      >
        {(d) => (
          <Table label="Workflows">
            <thead>
              <tr>
                <th>Name</th>
                <th>Version</th>
                <th>Updated</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((w) => (
                <tr key={w.id} data-workflow-id={w.id}>
                  <td>
                    <a href={`/workflows/${w.id}`}>{w.name}</a>
                    {w.description && <div class="muted small">{w.description}</div>}
                  </td>
                  <td>v{w.version}</td>
                  <td>
                    <Time ms={w.updated_at} />
                  </td>
                  <td class="actions">
                    <a class="btn btn-small" href={`/executions?workflow=${w.id}`}>
                      Runs
                    </a>
                    {canEdit && (
                      <button type="button" class="btn btn-small" onClick={() => setRunning(w)}>
                        Run
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
      {running && <RunDialog workflow={running} onClose={() => setRunning(null)} />}
    </section>
  );
}
