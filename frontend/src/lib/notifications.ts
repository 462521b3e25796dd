// The header's unread badge and toasts: the unread count from the API, kept current by the
// notifications stream (or a slow poll if the stream cannot stay open). When the server has no
// notifications routes yet, the badge stays hidden.

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

function onNotification(raw: string) {
  try {
    const n = JSON.parse(raw) as Partial<Notification> & { count?: number; unread_count?: number; notification?: Notification };
    const item = n.notification ?? (n.title ? (n as Notification) : null);
    if (item) toast({ kind: 'info', title: item.title, message: item.message, link: item.link }, 8000);
    const count = n.unread_count ?? n.count;
    if (typeof count === 'number') set({ available: true, count });
    else void refreshUnread();
  } catch {
    void refreshUnread();
  }
}

export function startNotifications(): () => void {
  void refreshUnread().then(() => {
    if (!unread.available) return;
    source = new EventSource('/api/notifications/stream', { withCredentials: true });
    const handle = (e: MessageEvent<string>) => onNotification(e.data);
    for (const type of ['message', 'notification', 'unread', 'unread_count', 'count']) source.addEventListener(type, handle);
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
