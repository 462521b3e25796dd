// GET /api/health for a signed-in person: the Worker's version and the state of D1, KV, the
// executions queue (with the team's backlog) and the cron trigger. Refreshed every 15 seconds.

import { api } from '../api/client';
import type { Health } from '../api/types';
import { dateTime } from '../lib/format';
import { useInterval, useResource } from '../lib/resource';
import { Card, PageHead, Time } from '../ui/bits';
import { Async } from '../ui/states';

const NAMES: Record<string, string> = { d1: 'Database (D1)', kv: 'Cache (KV)', queue: 'Executions queue', cron: 'Scheduler tick (cron)' };

export default function Infrastructure() {
  const r = useResource((signal) => api.get<Health>('/api/health', { signal }), []);
  useInterval(r.reload, 15_000);
  return (
    <section>
      <PageHead title="Infrastructure" sub="The health of the Worker and what it depends on.">
        <button type="button" class="btn" onClick={r.reload}>
          Refresh
        </button>
      </PageHead>
      <Async r={r}>
        {(h) => (
          <>
            <div class="cards">
              <Card label="Overall" value={<span class={`health health-${h.status}`} data-health={h.status}>{h.status}</span>} />
              <Card label="Version" value={h.version} />
            </div>
            <div class="cards">
              {Object.entries(h.checks ?? {}).map(([name, c]) => (
                <div class="card" key={name} data-check={name}>
                  <div class="card-label">{NAMES[name] ?? name}</div>
                  <div class="card-value">
                    <span class={`health health-${c.state}`}>{c.state}</span>
                  </div>
                  {c.latency_ms !== undefined && <div class="muted small">{c.latency_ms} ms</div>}
                  {c.backlog !== undefined && (
                    <div class="muted small" data-backlog={c.backlog}>
                      {c.backlog} waiting, {c.running ?? 0} running
                      {c.oldest_pending_at ? (
                        <>
                          {' '}
                          · oldest since <Time ms={c.oldest_pending_at} />
                        </>
                      ) : null}
                    </div>
                  )}
                  {c.last_tick_at !== undefined && (
                    <div class="muted small" title={dateTime(c.last_tick_at)}>
                      {c.last_tick_at ? (
                        <>
                          last tick <Time ms={c.last_tick_at} />
                        </>
                      ) : (
                        'no tick seen yet'
                      )}
                    </div>
                  )}
                  {c.error && <div class="field-error small">{c.error}</div>}
                </div>
              ))}
            </div>
            {!h.checks && <p class="muted">Checks are shown to signed-in people only.</p>}
          </>
        )}
      </Async>
    </section>
  );
}
