// Beacon's own use, sent to Beacon's telemetry API: page views, actions and the page-load time.
// Fire-and-forget: events are batched, sent with keepalive, and dropped quietly if the server
// has no telemetry route yet (404) or the role may not send it (403).

const FLUSH_MS = 5000;
const MAX_QUEUE = 200;

interface TrackEvent {
  id: string;
  component: string;
  action: string;
  properties?: Record<string, unknown>;
  timestamp: number;
  session_id: string;
  user_id?: string;
}

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

const sessionId = tabSession();
let queue: TrackEvent[] = [];
let userId: string | undefined;
/** Off until someone who may send telemetry is signed in; off for good after a 404 or 403. */
let enabled = false;
let refused = false;
let timer: number | undefined;

function post(path: string, body: unknown): void {
  fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
    keepalive: true,
  }).then(
    (res) => {
      if (res.status === 404 || res.status === 403 || res.status === 405) refused = true;
    },
    () => undefined,
  );
}

function flush(): void {
  timer = undefined;
  if (!enabled || refused || queue.length === 0) {
    queue = [];
    return;
  }
  const events = queue;
  queue = [];
  post('/api/telemetry/batch', { events });
}

function schedule(): void {
  if (timer === undefined) timer = window.setTimeout(flush, FLUSH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') flush();
});

/** Called when the session is known: only members and above may send telemetry. */
export function identify(id: string | undefined, maySend: boolean): void {
  userId = id;
  enabled = maySend;
  if (!maySend) queue = [];
}

export function track(component: string, action: string, properties?: Record<string, unknown>): void {
  if (refused) return;
  const e: TrackEvent = { id: uuid(), component, action, timestamp: Date.now(), session_id: sessionId };
  if (properties) e.properties = properties;
  if (userId) e.user_id = userId;
  queue.push(e);
  if (queue.length > MAX_QUEUE) queue = queue.slice(-MAX_QUEUE);
  schedule();
}

export function metric(component: string, name: string, value: number, metadata?: Record<string, unknown>): void {
  if (!enabled || refused) return;
  post('/api/telemetry/metrics', { component, metric_name: name, value, metadata: metadata ?? {} });
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
