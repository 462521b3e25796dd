// GET /api/team/activity: who did what to what, and when.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { ActivityEntry, Page } from '../api/types';
import { useResource } from '../lib/resource';
import { Time } from '../ui/bits';
import { Async, Empty } from '../ui/states';

function describe(e: ActivityEntry): string {
  const d = e.detail ?? {};
  const bits = ['name', 'email', 'role', 'from', 'to', 'service', 'cron', 'version']
    .filter((k) => d[k] !== undefined && d[k] !== null)
    .map((k) => `${k}: ${String(d[k])}`);
  return bits.join(', ');
}

export function Activity() {
  const r = useResource((signal) => api.get<Page<ActivityEntry>>('/api/team/activity?limit=30', { signal }), []);
  const [more, setMore] = useState<{ rows: ActivityEntry[]; cursor: string | null }>({ rows: [], cursor: null });
  const cursor = more.rows.length ? more.cursor : r.data?.next_cursor;
  const loadMore = async () => {
    if (!cursor) return;
    const p = await api.get<Page<ActivityEntry>>(`/api/team/activity?limit=30&cursor=${encodeURIComponent(cursor)}`);
    setMore({ rows: [...more.rows, ...p.data], cursor: p.next_cursor });
  };
  return (
    <Async r={r} isEmpty={(d) => d.data.length === 0} empty={<Empty title="No activity yet." />}>
      {(d) => (
        <>
          <ul class="feed">
            {[...d.data, ...more.rows].map((e) => (
              <li key={e.id}>
                <span class="feed-main">
                  <strong>{e.actor?.email ?? 'Beacon'}</strong> <code>{e.action}</code> <span class="muted">{describe(e)}</span>
                </span>
                <Time ms={e.created_at} />
              </li>
            ))}
          </ul>
          {cursor && (
            <button type="button" class="btn" onClick={() => void loadMore()}>
              Load more
            </button>
          )}
        </>
      )}
    </Async>
  );
}
