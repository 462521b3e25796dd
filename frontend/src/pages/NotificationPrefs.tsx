// GET/PUT /api/notifications/preferences: which categories reach me, and whether succeeded runs
// notify me too (failures always do).

import { api } from '../api/client';
import type { NotificationCategory } from '../api/types';
import { NOTIFICATION_CATEGORIES } from '../api/types';
import { useResource } from '../lib/resource';
import { track } from '../lib/telemetry';
import { Async, errorMessage } from '../ui/states';
import { toast } from '../ui/toast';

interface Prefs {
  categories: NotificationCategory[];
  notify_success: boolean;
}

export function NotificationPrefs() {
  const r = useResource((signal) => api.get<Prefs>('/api/notifications/preferences', { signal }), []);
  const save = async (next: Prefs) => {
    track('app.notifications', 'preferences');
    try {
      r.set(await api.put<Prefs>('/api/notifications/preferences', next));
      toast({ kind: 'success', title: 'Preferences saved' });
    } catch (e) {
      toast({ kind: 'error', title: 'Not saved', message: errorMessage(e) });
    }
  };
  return (
    <details class="prefs">
      <summary>Preferences</summary>
      <Async r={r} what="Notification preferences">
        {(p) => (
          <fieldset class="chips">
            <legend>Notify me about</legend>
            {NOTIFICATION_CATEGORIES.map((c) => (
              <label key={c} class="check">
                <input
                  type="checkbox"
                  checked={p.categories.includes(c)}
                  onChange={(e) => void save({ ...p, categories: e.currentTarget.checked ? [...p.categories, c] : p.categories.filter((x) => x !== c) })}
                />{' '}
                {c}
              </label>
            ))}
            <label class="check">
              <input type="checkbox" checked={p.notify_success} onChange={(e) => void save({ ...p, notify_success: e.currentTarget.checked })} /> runs that succeed, too
            </label>
          </fieldset>
        )}
      </Async>
    </details>
  );
}
