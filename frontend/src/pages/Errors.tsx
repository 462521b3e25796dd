// Error logs: issues grouped by fingerprint, filtered by severity and state, newest first.

import { api, qs } from '../api/client';
import type { ErrorIssue, Page } from '../api/types';
import { SEVERITIES } from '../api/types';
import { num } from '../lib/format';
import { useResource } from '../lib/resource';
import { setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, StatusBadge, Table, Time } from '../ui/bits';
import { Async, Empty } from '../ui/states';

export default function Errors({ query }: PageProps) {
  const severity = query.get('severity') ?? '';
  const resolved = query.get('resolved') ?? 'false';
  const filterQs = qs({ severity, resolved: resolved === 'all' ? '' : resolved, limit: 100 });
  const r = useResource((signal) => api.get<Page<ErrorIssue>>(`/api/errors${filterQs}`, { signal }), [filterQs]);
  const set = (k: string, v: string) => {
    track('app.errors', 'filter', { [k]: v });
    setQuery({ [k]: v || null });
  };
  return (
    <section>
      <PageHead title="Error logs" sub="Failures from your runs and your apps, grouped into issues." />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Severity
          <select value={severity} onChange={(e) => set('severity', e.currentTarget.value)}>
            <option value="">All severities</option>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={resolved} onChange={(e) => set('resolved', e.currentTarget.value)}>
            <option value="false">Open</option>
            <option value="true">Resolved</option>
            <option value="all">All</option>
          </select>
        </label>
      </form>
      <Async r={r} what="Error tracking" isEmpty={(d) => d.data.length === 0} empty={<Empty title={resolved === 'false' && !severity ? 'No open errors.' : 'No errors match these filters.'} />}>
        {(d) => (
          <Table label="Error issues">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Error</th>
                <th>State</th>
                <th>Count</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((e) => (
                <tr key={e.id} data-error-id={e.id}>
                  <td>
                    <span class={`badge sev-${e.severity}`}>{e.severity}</span>
                  </td>
                  <td>
                    <a href={`/errors/${e.id}`}>{e.type}</a>
                    <div class="small clamp">{e.message}</div>
                    {e.step_id && <div class="muted small">step {e.step_id}</div>}
                  </td>
                  <td>
                    <StatusBadge status={e.status} />
                  </td>
                  <td>{num(e.count)}</td>
                  <td>
                    <Time ms={e.last_seen_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Async>
    </section>
  );
}
