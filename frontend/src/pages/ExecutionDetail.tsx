// One execution: its input, error and steps (tokens, cost, output), cancel and retry; live
// through the executions stream, and polled for step progress while it runs.

import { api } from '../api/client';
import type { ExecutionDetail as Detail, ExecutionEvent, ExecutionStep } from '../api/types';
import { dateTime, duration, errorText, json, num, usd } from '../lib/format';
import { LiveIndicator, useEventStream } from '../lib/live';
import { useInterval, useResource } from '../lib/resource';
import { useCan } from '../lib/session';
import { traceIdFor } from '../lib/trace';
import type { PageProps } from '../routes';
import { PageHead, StatusBadge } from '../ui/bits';
import { Async } from '../ui/states';
import { ExecutionActions } from './execution-actions';

const ACTIVE = ['pending', 'running'];

export default function ExecutionDetail({ params }: PageProps) {
  const id = params.id ?? '';
  const canRun = useCan('member');
  const r = useResource((signal) => api.get<Detail>(`/api/executions/${id}`, { signal }), [id]);
  const live = useEventStream<ExecutionEvent>('/api/executions/stream', ['execution'], (_t, ev) => {
    if (ev.execution_id === id) r.reload();
  });
  useInterval(() => r.reload(), r.data && ACTIVE.includes(r.data.status) ? 2000 : null);

  return (
    <section>
      <p class="crumbs">
        <a href="/executions">← Executions</a>
      </p>
      <Async r={r}>
        {(e) => (
          <>
            <PageHead title={e.workflow_name ?? 'Execution'} sub={<code>{e.id}</code>}>
              <LiveIndicator state={live} />
              {canRun && <ExecutionActions execution={e} onChanged={r.reload} />}
            </PageHead>
            <dl class="facts">
              <div>
                <dt>Status</dt>
                <dd data-testid="execution-status">
                  <StatusBadge status={e.status} />
                </dd>
              </div>
              <div>
                <dt>Version</dt>
                <dd>{e.workflow_version}</dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>{dateTime(e.created_at)}</dd>
              </div>
              <div>
                <dt>Duration</dt>
                <dd>{duration(e.started_at, e.completed_at)}</dd>
              </div>
              {e.retry_of && (
                <div>
                  <dt>Retry of</dt>
                  <dd>
                    <a href={`/executions/${e.retry_of}`}>earlier run</a>
                  </dd>
                </div>
              )}
              <div>
                <dt>Workflow</dt>
                <dd>
                  <a href={`/workflows/${e.workflow_id}`}>{e.workflow_name ?? 'open'}</a>
                </dd>
              </div>
              <div>
                <dt>Trace</dt>
                <dd>
                  <a href={`/traces/${traceIdFor(e)}`} data-trace-link>
                    Open the waterfall
                  </a>
                </dd>
              </div>
            </dl>
            {e.error ? (
              <p class="form-error" role="alert">
                {errorText(e.error)}
              </p>
            ) : null}
            <h2>Input</h2>
            <pre class="code">{json(e.input)}</pre>
            <h2>Steps</h2>
            <ol class="steps">
              {e.steps.map((s) => (
                <StepCard key={s.id} step={s} />
              ))}
            </ol>
          </>
        )}
      </Async>
    </section>
  );
}

function StepCard({ step: s }: { step: ExecutionStep }) {
  const t = s.tokens;
  return (
    <li class="step-card" data-step-id={s.id}>
      <header>
        <strong>{s.id}</strong> <span class="muted">{s.kind}</span>
        {s.agent && <span class="muted"> · agent {s.agent}</span>}
        <StatusBadge status={s.status} />
        <span class="muted small">{duration(s.started_at, s.completed_at)}</span>
        {s.attempts !== undefined && s.attempts > 1 && <span class="muted small"> · {s.attempts} attempts</span>}
      </header>
      {t && (
        <p class="small">
          Tokens: input {num(t.input)}, cache read {num(t.cache_read)}, cache write {num(t.cache_write)}, output {num(t.output)}, reasoning {num(t.reasoning)}
          {s.cost_usd !== null && <> · cost {usd(s.cost_usd)}</>}
        </p>
      )}
      {s.error ? <p class="form-error">{errorText(s.error)}</p> : null}
      {s.output && (
        <details open={s.output.length < 600}>
          <summary>Output</summary>
          <pre class="code">{s.output}</pre>
        </details>
      )}
    </li>
  );
}
