// Form pieces: a labelled field with its error, and a hook that runs an action with a busy
// state, field errors from a 422 and a message for anything else.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { errorMessage } from './states';

export function Field({ label, error, hint, children, id }: { label: string; error?: string | undefined; hint?: string; children: ComponentChildren; id: string }) {
  return (
    <div class={`field ${error ? 'has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && !error && <small class="hint">{hint}</small>}
      {error && (
        <small class="field-error" id={`${id}-error`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export interface Action<A extends unknown[]> {
  busy: boolean;
  error: string | null;
  fields: Record<string, string>;
  run: (...args: A) => Promise<boolean>;
  clear: () => void;
}

/** Wraps an async action: `run` answers whether it succeeded. */
export function useAction<A extends unknown[]>(fn: (...args: A) => Promise<unknown>): Action<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await fn(...args);
      return true;
    } catch (e) {
      const f = e instanceof ApiError && e.status === 422 ? e.fields() : {};
      setFields(f);
      setError(Object.keys(f).length ? 'Some fields need attention.' : errorMessage(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, fields, run, clear: () => (setError(null), setFields({})) };
}

export function FormError({ error }: { error: string | null }) {
  return error ? (
    <p class="form-error" role="alert">
      {error}
    </p>
  ) : null;
}

/** Reads a JSON object from a textarea's text, or answers why not. */
export function parseObject(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return { value: v as Record<string, unknown> };
    return { error: 'must be a JSON object, like {"topic": "..."}' };
  } catch (e) {
    return { error: `is not valid JSON (${(e as Error).message})` };
  }
}
