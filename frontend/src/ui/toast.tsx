// Toasts: short messages in the header's live region (action results, new notifications).

import { useEffect, useState } from 'preact/hooks';

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  title: string;
  message?: string;
  link?: string | null;
}

let nextId = 1;
let toasts: Toast[] = [];
const listeners = new Set<(t: Toast[]) => void>();

function emit() {
  listeners.forEach((l) => l(toasts));
}

export function dismiss(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function toast(t: Omit<Toast, 'id'>, ttlMs = 6000): void {
  const id = nextId++;
  toasts = [...toasts.slice(-3), { ...t, id }];
  emit();
  window.setTimeout(() => dismiss(id), ttlMs);
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    listeners.add(setList);
    return () => void listeners.delete(setList);
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          <div>
            <strong>{t.title}</strong>
            {t.message && <p>{t.message}</p>}
            {t.link && <a href={t.link}>Open</a>}
          </div>
          <button type="button" class="icon-btn" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
