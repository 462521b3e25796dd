// The notification feed: filter by category and unread, mark read or unread, mark all read,
// hide one. The header's badge follows.

import { api, qs } from '../api/client';
import type { Notification, Page } from '../api/types';
import { NOTIFICATION_CATEGORIES } from '../api/types';
import { useEffect, useRef } from 'preact/hooks';
import { refreshUnread, useUnread } from '../lib/notifications';
import { useResource } from '../lib/resource';
import { navigate, setQuery } from '../lib/router';
import { track } from '../lib/telemetry';
import type { PageProps } from '../routes';
import { PageHead, Time } from '../ui/bits';
import { Async, Empty, errorMessage } from '../ui/states';
import { toast } from '../ui/toast';
import { NotificationPrefs } from './NotificationPrefs';

export default function Notifications({ query }: PageProps) {
  const category = query.get('category') ?? '';
  const unread = query.get('unread') === 'true';
  const filterQs = qs({ category, unread: unread ? 'true' : '', limit: 100 });
  const r = useResource((signal) => api.get<Page<Notification>>(`/api/notifications${filterQs}`, { signal }), [filterQs]);
  // The feed follows the live unread count: a new notification, or one read in another tab.
  const unreadCount = useUnread().count;
  const seen = useRef(unreadCount);
  useEffect(() => {
    if (seen.current !== unreadCount) r.reload();
    seen.current = unreadCount;
  }, [unreadCount]);

  const act = async (label: string, fn: () => Promise<unknown>) => {
    track('app.notifications', label);
    try {
      await fn();
    } catch (e) {
      toast({ kind: 'error', title: 'Not done', message: errorMessage(e) });
    }
    r.reload();
    void refreshUnread();
  };
  const markAll = () =>
    act('mark_all_read', async () => {
      const res = await api.post<{ count: number }>('/api/notifications/mark-all-read');
      toast({ kind: 'success', title: `${res.count} marked read` });
    });

  return (
    <section>
      <PageHead title="Notifications" sub="What needs your attention.">
        <button type="button" class="btn" onClick={() => void markAll()}>
          Mark all read
        </button>
      </PageHead>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Category
          <select value={category} onChange={(e) => setQuery({ category: e.currentTarget.value || null })}>
            <option value="">All categories</option>
            {NOTIFICATION_CATEGORIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={unread} onChange={(e) => setQuery({ unread: e.currentTarget.checked ? 'true' : null })} /> Unread only
        </label>
      </form>
      <NotificationPrefs />
      <Async r={r} what="Notifications" isEmpty={(d) => d.data.length === 0} empty={<Empty title={unread || category ? 'Nothing matches these filters.' : 'No notifications yet.'} />}>
        {(d) => (
          <ul class="feed notifications">
            {d.data.map((n) => (
              <li key={n.id} class={n.read ? 'read' : 'unread'} data-notification-id={n.id} data-read={String(n.read)}>
                <div class="feed-main">
                  <span class="badge">{n.category}</span> <strong>{n.title}</strong>
                  <p>{n.message}</p>
                  <Time ms={n.created_at} />
                </div>
                <div class="row-actions">
                  {n.link && (
                    <button type="button" class="btn btn-small" onClick={() => void api.post(`/api/notifications/${n.id}/read`).finally(() => (void refreshUnread(), navigate(n.link ?? '/')))}>
                      Open
                    </button>
                  )}
                  {n.read ? (
                    <button type="button" class="btn btn-small" onClick={() => void act('mark_unread', () => api.post(`/api/notifications/${n.id}/unread`))}>
                      Mark unread
                    </button>
                  ) : (
                    <button type="button" class="btn btn-small" onClick={() => void act('mark_read', () => api.post(`/api/notifications/${n.id}/read`))}>
                      Mark read
                    </button>
                  )}
                  <button type="button" class="btn btn-small btn-danger-quiet" aria-label={`Hide ${n.title}`} onClick={() => void act('hide', () => api.del(`/api/notifications/${n.id}`))}>
                    Hide
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </Async>
    </section>
  );
}
