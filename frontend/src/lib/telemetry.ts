// Beacon's own use, sent to Beacon's telemetry API through the TypeScript SDK (sdk/typescript,
// loaded as a chunk of its own so the shell stays small): page views, actions and the page-load
// time. Fire-and-forget: the SDK queues and batches, sends with keepalive (so a closing tab still
// delivers) and the session cookie, and retries a 5xx; this module only decides whether to send
// at all — not before someone who may send telemetry is signed in, and never again once the
// server answers 404 (no telemetry route yet), 403 (the role may not send it) or 405.

import type { Beacon } from '../../../sdk/typescript/src/index';

function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One session per tab: it survives reloads, not the tab. */
function tabSession(): string {
  try {
    const id = sessionStorage.getItem('beacon.session') ?? uuid();
    sessionStorage.setItem('beacon.session', id);
    return id;
  } catch {
    return uuid();
  }
}

let userId: string | undefined;
/** Off until someone who may send telemetry is signed in; off for good after a 404, 403 or 405. */
let enabled = false;
let refused = false;

let beacon: Beacon | undefined;
/** Calls made before the SDK's chunk arrived (it loads beside the first page, not in the shell). */
let early: ((b: Beacon) => void)[] | undefined = [];

function withBeacon(call: (b: Beacon) => void): void {
  if (beacon) call(beacon);
  else early?.push(call);
}

void import('../../../sdk/typescript/src/index').then(
  ({ Beacon }) => {
    beacon = new Beacon('', null, {
      flushInterval: 5000,
      maxQueueSize: 200,
      keepalive: true,
      credentials: 'same-origin',
      sessionId: tabSession(),
      // Decided when a batch goes out, so what was tracked before the session was known is sent
      // once it is, and dropped if the person may not send telemetry.
      beforeSend: (_kind, body) => (enabled && !refused ? body : null),
      onError: (error) => {
        if (error.status === 404 || error.status === 403 || error.status === 405) refused = true;
      },
    });
    for (const call of early ?? []) call(beacon);
    early = undefined;
  },
  () => {
    early = undefined; // the chunk did not load: no telemetry from this page
  },
);

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') void beacon?.flush();
});

/** Called when the session is known: only members and above may send telemetry. */
export function identify(id: string | undefined, maySend: boolean): void {
  userId = id;
  enabled = maySend;
  // What the previous person did is theirs: not sent under whoever signs in next.
  if (!maySend) withBeacon((b) => b.clear());
}

export function track(component: string, action: string, properties?: Record<string, unknown>): void {
  if (refused) return;
  const options = { timestamp: Date.now(), ...(userId ? { userId } : {}) };
  withBeacon((b) => b.track(component, action, properties, options));
}

export function metric(component: string, name: string, value: number, metadata?: Record<string, unknown>): void {
  if (!enabled || refused) return;
  withBeacon((b) => b.metric(component, name, value, metadata ?? {}));
}

let loadReported = false;

/** The first page's load time: from navigation start until that page has drawn its data. */
export function reportPageLoad(page: string): void {
  if (loadReported) return;
  loadReported = true;
  const ms = Math.round(performance.now());
  (window as unknown as { __beaconFirstPageMs?: number }).__beaconFirstPageMs = ms;
  metric('app', 'page_load_ms', ms, { page });
}
