// The header's unread badge and toasts: the unread count from the API, kept current by the
// notifications stream (`event: notification`, `event: unread_count`), or a slow poll if the
// stream cannot stay open. When the server has no notifications routes yet, the badge stays
// hidden.

import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Notification } from '../api/types';
import { toast } from '../ui/toast';

interface Unread {
  available: boolean;
  count: number;
}

let unread: Unread = { available: false, count: 0 };
const listeners = new Set<(u: Unread) => void>();
let source: EventSource | null = null;
let poll: number | undefined;

function set(u: Unread) {
  unread = u;
  listeners.forEach((l) => l(u));
}

export async function refreshUnread(): Promise<void> {
  try {
    const r = await api.get<{ count: number }>('/api/notifications/unread-count');
    set({ available: true, count: r.count });
  } catch {
    set({ available: false, count: 0 });
  }
}

function parse<T>(raw: string): T | null {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

export function startNotifications(): () => void {
  void refreshUnread().then(() => {
    if (!unread.available) return;
    source = new EventSource('/api/notifications/stream', { withCredentials: true });
    // `notification`: a new one (a toast); `unread_count`: {count}, after every change and on connect.
    source.addEventListener('notification', (e: MessageEvent<string>) => {
      const n = parse<Notification>(e.data);
      if (n) toast({ kind: 'info', title: n.title, message: n.message, link: n.link }, 8000);
    });
    source.addEventListener('unread_count', (e: MessageEvent<string>) => {
      const c = parse<{ count: number }>(e.data);
      if (c && typeof c.count === 'number') set({ available: true, count: c.count });
    });
    source.onerror = () => {
      if (source?.readyState === EventSource.CLOSED && poll === undefined) {
        poll = window.setInterval(() => void refreshUnread(), 30_000);
      }
    };
  });
  return () => {
    source?.close();
    source = null;
    if (poll !== undefined) window.clearInterval(poll);
    poll = undefined;
    set({ available: false, count: 0 });
  };
}

export function useUnread(): Unread {
  const [u, setU] = useState(unread);
  useEffect(() => {
    listeners.add(setU);
    setU(unread);
    return () => void listeners.delete(setU);
  }, []);
  return u;
}
