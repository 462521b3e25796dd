// Server-Sent Events as a hook. The browser's EventSource reconnects by itself and sends
// Last-Event-ID, so a dropped stream resumes where it left off. A stream that cannot open at all
// (404: not on this server) ends as 'unavailable'.

import { useEffect, useRef, useState } from 'preact/hooks';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

export function useEventStream<T>(url: string | null, events: string[], onEvent: (type: string, data: T) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const names = events.join(',');

  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url, { withCredentials: true });
    let opened = false;
    source.onopen = () => {
      opened = true;
      setState('live');
    };
    source.onerror = () => {
      // CLOSED: the browser gave up (a non-200 answer, such as 404); otherwise it retries.
      if (source.readyState === EventSource.CLOSED) setState(opened ? 'reconnecting' : 'unavailable');
      else setState('reconnecting');
    };
    const listen = (type: string) => (e: MessageEvent<string>) => {
      try {
        handler.current(type, JSON.parse(e.data) as T);
      } catch {
        // a malformed event is skipped; the next one still counts
      }
    };
    const listeners = names.split(',').map((type) => [type, listen(type)] as const);
    for (const [type, fn] of listeners) source.addEventListener(type, fn);
    return () => source.close();
  }, [url, names]);

  return state;
}

export function LiveIndicator({ state }: { state: LiveState }) {
  const text = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', unavailable: 'Live updates unavailable' }[state];
  return (
    <span class={`live live-${state}`} data-live={state} role="status">
      <span class="dot" aria-hidden="true" /> {text}
    </span>
  );
}
