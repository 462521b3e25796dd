// Loading data for a page: one hook that runs a loader, keeps loading / error / data apart,
// cancels what a newer load supersedes, and can reload on demand.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export type Resource<T> =
  | { state: 'loading'; data?: T; error?: undefined; reload: () => void; set: (d: T) => void }
  | { state: 'ready'; data: T; error?: undefined; reload: () => void; set: (d: T) => void }
  | { state: 'error'; data?: T; error: unknown; reload: () => void; set: (d: T) => void };

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ state: 'loading' | 'ready' | 'error'; data?: T; error?: unknown }>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctl = new AbortController();
    // Keep showing the previous data while a reload runs (no flash of "loading").
    setState((s) => (s.data === undefined ? { state: 'loading' } : { ...s, error: undefined }));
    loadRef.current(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ state: 'ready', data }),
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setState((s) => ({ state: 'error', error, data: s.data }));
      },
    );
    return () => ctl.abort();
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((data: T) => setState({ state: 'ready', data }), []);
  return { ...state, reload, set } as Resource<T>;
}

/** Runs `fn` every `ms` while the tab is visible. */
export function useInterval(fn: () => void, ms: number | null): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    return () => window.clearInterval(id);
  }, [ms]);
}
