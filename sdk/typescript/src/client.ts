// The client: `track`, `metric` and `error` put an item on a bounded in-memory queue and return;
// a timer sends the queue in the background; `flush()` and `close()` return promises bounded by
// their timeout (pass one to a Worker's `ctx.waitUntil`); Node's `beforeExit` flushes what a
// script left behind.
//
// Delivery, in order: events go in batches (at most `maxBatchSize` events and `maxBatchBytes`
// of body) to `POST /api/telemetry/batch`, each event with an id made here, so a batch sent twice
// (its answer lost, then retried) is stored once — the server skips ids it already has. Metrics
// and errors go one per request. One request is outstanding at a time; a request that fails with
// 429, a 5xx or no answer is retried with exponential backoff and jitter, never sooner than its
// `Retry-After`, up to `maxRetries` times; any other failure drops it.

import { gatewayBaseURL, gatewayHeaders, type GatewayHeaderOptions, type GatewayService } from './gateway.js';
import { randomBytes, uuid7 } from './ids.js';
import { RETRYABLE, backoff, parseRetryAfter } from './retry.js';
import { Ring } from './ring.js';
import { backgroundTimeout, isWorkers, registerExitFlush, type ExitFlushable } from './runtime.js';

/** The server's limits (SPEC.md, "Telemetry and analytics"). */
export const SERVER_MAX_BATCH = 500;
export const SERVER_MAX_BATCH_BYTES = 1024 * 1024;
/** Browsers refuse `keepalive` requests whose bodies add up to more than 64 KiB. */
const KEEPALIVE_MAX_BYTES = 60 * 1024;
const EMPTY_BATCH = '{"events":[]}'.length;
const ERROR_LIMITS: [string, number][] = [
  ['type', 100],
  ['message', 2000],
  ['stack', 64 * 1024],
  ['step_id', 100],
];

export type ItemKind = 'event' | 'metric' | 'error';
export type JsonObject = Record<string, unknown>;
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface TrackOptions {
  userId?: string;
  sessionId?: string;
  /** When it happened: a Date, or epoch milliseconds (or seconds); default now. */
  timestamp?: Date | number;
}

export interface ErrorOptions {
  /** Derived by the server when absent. */
  severity?: Severity;
  stack?: string;
  workflowId?: string;
  stepId?: string;
  context?: JsonObject;
}

export interface BeaconOptions {
  /** Milliseconds between background sends; 0 sends only on `flush()`, a full batch, or a metric
   * or error. Default 2000, and 0 in Cloudflare Workers (flush with `ctx.waitUntil`). */
  flushInterval?: number;
  /** Items held in memory at most; beyond it the oldest are dropped (and counted). Default 10,000. */
  maxQueueSize?: number;
  /** Events per batch, at most 500 (the server's limit). Default 500. */
  maxBatchSize?: number;
  /** Bytes per batch body, at most 1 MiB. Default 1 MiB (60 KiB with `keepalive`). */
  maxBatchBytes?: number;
  /** Retries of a request after a 429, 5xx or network failure, then it is dropped. Default 5. */
  maxRetries?: number;
  /** First retry after about this many ms (jittered), doubling each time. Default 500. */
  retryBase?: number;
  /** Longest backoff between retries, ms (a longer `Retry-After` is still obeyed). Default 30,000. */
  retryMax?: number;
  /** Milliseconds one request may take before it counts as failed (and is retried). Default 10,000. */
  requestTimeout?: number;
  /** What `close()` and the exit flush wait at most, ms. Default 5000. */
  shutdownTimeout?: number;
  /** Flush on Node's `beforeExit`. Default true. */
  flushAtExit?: boolean;
  /** Default `session_id` / `user_id` of events. */
  sessionId?: string;
  userId?: string;
  /** Told about items that were lost: refused by the server or undeliverable. */
  onError?: (error: BeaconDeliveryError) => void;
  /** Sees each item's JSON body just before it is sent; return it (changed or not) or null to drop it. */
  beforeSend?: (kind: ItemKind, body: JsonObject) => JsonObject | null | undefined;
  /** The fetch to use. Default the global one. */
  fetch?: typeof fetch;
  /** Send with `keepalive` (browsers: requests survive the page closing). Default false. */
  keepalive?: boolean;
  /** `credentials` for fetch (browsers sending the session cookie: 'same-origin'). Default unset. */
  credentials?: RequestCredentials;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface BeaconStats {
  /** Waiting in the queue, or in the request being sent. */
  queued: number;
  /** Stored by the server. */
  sent: number;
  /** Events the server already had (a retried batch), so not stored again. */
  duplicates: number;
  /** Refused by the server (invalid), not encodable as JSON, or not even queueable. */
  rejected: number;
  /** Pushed out of a full queue (the oldest go first), or tracked after `close()`. */
  dropped: number;
  /** Given up: retries exhausted, or an error status a retry cannot fix (401, 403, 404, ...). */
  failed: number;
  /** Discarded by `beforeSend`. */
  filtered: number;
  /** Requests sent again after a 429, a 5xx or a network error. */
  retries: number;
}

/** Handed to `onError` when items are lost. */
export class BeaconDeliveryError extends Error {
  constructor(
    message: string,
    /** What was lost. */
    readonly kind: ItemKind,
    /** How many items. */
    readonly count: number,
    /** The HTTP status, or undefined when no answer came. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BeaconDeliveryError';
  }
}

// Item kinds, as indexes into KIND_NAMES and PATHS.
type Kind = 0 | 1 | 2;
const EVENT = 0;
const METRIC = 1;
const ERROR = 2;
const KIND_NAMES: ItemKind[] = ['event', 'metric', 'error'];
const PATHS = ['/api/telemetry/batch', '/api/telemetry/metrics', '/api/errors'];

/** `seq` numbers items from 0 in the order they were queued, so `flush` knows what came before it. */
interface QueuedEvent {
  kind: typeof EVENT;
  seq: number;
  component: string;
  action: string;
  properties: JsonObject | undefined;
  ts: number;
  sessionId: string | undefined;
  userId: string | undefined;
}
interface QueuedOther {
  kind: typeof METRIC | typeof ERROR;
  seq: number;
  body: JsonObject;
}
type Queued = QueuedEvent | QueuedOther;

interface OutgoingRequest {
  kind: Kind;
  body: string;
  count: number;
  firstSeq: number;
  attempts: number;
  notBefore: number;
}

interface Waiter {
  target: number;
  resolve: (done: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Answer {
  status: number;
  retryAfter: number | undefined;
  body: unknown;
}

type Counts = Omit<BeaconStats, 'queued'>;

function timestampMs(value: Date | number): number {
  if (value instanceof Date) return value.getTime();
  // Epoch seconds or milliseconds: 1e11 ms is 1973, 1e11 s is the year 5138.
  return value < 1e11 ? value * 1000 : value;
}

function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) bytes += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

function describe(answer: Answer): string {
  const error = (answer.body as { error?: { message?: unknown } } | undefined)?.error;
  return typeof error?.message === 'string' ? `HTTP ${answer.status}: ${error.message}` : `HTTP ${answer.status}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => backgroundTimeout(resolve, ms));
}

/**
 * A Beacon client. `new Beacon(url, token)`: `url` is the Beacon origin
 * (`https://beacon.example.com`; '' for the page's own origin in a browser), `token` an access
 * token with the member role (or none, with `credentials`, for a signed-in browser session).
 */
export class Beacon implements ExitFlushable {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly flushInterval: number;
  private readonly maxBatchSize: number;
  private readonly maxBatchBytes: number;
  private readonly maxRetries: number;
  private readonly retryBase: number;
  private readonly retryMax: number;
  private readonly requestTimeout: number;
  private readonly shutdownTimeout: number;
  private readonly sessionId: string | undefined;
  private readonly userId: string | undefined;
  private readonly options: BeaconOptions;
  private readonly requestHeaders: Record<string, string>;

  private readonly ring: Ring<Queued>;
  private seq = 0;
  private pending: OutgoingRequest | undefined;
  private pumping = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Set when a close or the exit flush ran out of time: nothing more is sent. */
  private stopped = false;
  private inflight: AbortController | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly counts: Counts = { sent: 0, duplicates: 0, rejected: 0, dropped: 0, failed: 0, filtered: 0, retries: 0 };
  private readonly unregisterExit: () => void;

  constructor(url: string, token?: string | null, options: BeaconOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.token = token ?? undefined;
    this.options = options;
    this.flushInterval = Math.max(0, options.flushInterval ?? (isWorkers() ? 0 : 2000));
    this.ring = new Ring<Queued>(Math.max(1, Math.floor(options.maxQueueSize ?? 10_000)));
    this.maxBatchSize = Math.max(1, Math.min(options.maxBatchSize ?? SERVER_MAX_BATCH, SERVER_MAX_BATCH));
    const byteLimit = options.keepalive ? KEEPALIVE_MAX_BYTES : SERVER_MAX_BATCH_BYTES;
    this.maxBatchBytes = Math.max(1024, Math.min(options.maxBatchBytes ?? byteLimit, byteLimit));
    this.maxRetries = Math.max(0, options.maxRetries ?? 5);
    this.retryBase = Math.max(0, options.retryBase ?? 500);
    this.retryMax = Math.max(this.retryBase, options.retryMax ?? 30_000);
    this.requestTimeout = Math.max(1, options.requestTimeout ?? 10_000);
    this.shutdownTimeout = Math.max(0, options.shutdownTimeout ?? 5000);
    this.sessionId = options.sessionId;
    this.userId = options.userId;
    this.requestHeaders = { 'content-type': 'application/json', ...options.headers };
    if (this.token) this.requestHeaders.authorization = `Bearer ${this.token}`;
    this.unregisterExit = options.flushAtExit === false ? () => undefined : registerExitFlush(this);
  }

  // --- the caller's side: never waits on the network, never throws ---------------------------

  /**
   * Queues an event: `component` (what was used) and `action` (what was done with it), each
   * 1-100 characters; `properties` a JSON object up to 8 KiB.
   */
  track(component: string, action: string, properties?: JsonObject, options?: TrackOptions): void {
    try {
      if (this.closed) {
        this.counts.dropped++;
        return;
      }
      const item: QueuedEvent = {
        kind: EVENT,
        seq: this.seq++,
        component,
        action,
        properties: properties === undefined ? undefined : { ...properties },
        ts: options?.timestamp === undefined ? Date.now() : timestampMs(options.timestamp),
        sessionId: options?.sessionId ?? this.sessionId,
        userId: options?.userId ?? this.userId,
      };
      if (this.ring.push(item)) this.counts.dropped++;
      if (this.ring.size === this.maxBatchSize) this.soon();
      else if (this.timer === undefined && !this.pumping) this.arm();
    } catch {
      // telemetry must never break the caller
      this.counts.rejected++;
    }
  }

  /** Queues a numeric sample (`POST /api/telemetry/metrics`), e.g. a latency in ms. */
  metric(component: string, name: string, value: number, metadata?: JsonObject): void {
    try {
      const body: JsonObject = { component, metric_name: name, value };
      if (metadata !== undefined) body.metadata = { ...metadata };
      this.enqueue(METRIC, body);
    } catch {
      this.counts.rejected++;
    }
  }

  /**
   * Queues an error report (`POST /api/errors`), grouped into issues by type, message, workflow
   * and step.
   */
  error(type: string, message: string, options: ErrorOptions = {}): void {
    try {
      const body: JsonObject = { type, message };
      if (options.severity !== undefined) body.severity = options.severity;
      if (options.stack !== undefined) body.stack = options.stack;
      if (options.workflowId !== undefined) body.workflow_id = options.workflowId;
      if (options.stepId !== undefined) body.step_id = options.stepId;
      if (options.context !== undefined) body.context = { ...options.context };
      this.enqueue(ERROR, body);
    } catch {
      this.counts.rejected++;
    }
  }

  private enqueue(kind: typeof METRIC | typeof ERROR, body: JsonObject): void {
    if (this.closed) {
      this.counts.dropped++;
      return;
    }
    if (this.ring.push({ kind, seq: this.seq++, body })) this.counts.dropped++;
    this.soon();
  }

  // --- flushing and closing --------------------------------------------------------------------

  /**
   * Sends everything queued before this call. Resolves true when all of it was dealt with
   * (stored, refused or given up), false when `timeoutMs` ran out first; never rejects, never
   * waits longer. In a Worker: `ctx.waitUntil(beacon.flush())`.
   */
  flush(timeoutMs = 10_000): Promise<boolean> {
    try {
      const target = this.seq;
      if (this.doneThrough(target)) return Promise.resolve(true);
      if (this.stopped) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const waiter: Waiter = { target, resolve, timer: undefined };
        // An ordinary (ref'd) timer: it keeps Node alive until the flush ends, at most this long.
        waiter.timer = setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, Math.max(0, timeoutMs));
        this.waiters.add(waiter);
        this.pump();
      });
    } catch {
      return Promise.resolve(false);
    }
  }

  /**
   * Flushes (bounded by `timeoutMs`, default `shutdownTimeout`) and stops: later items are
   * dropped, and if the time ran out, the request on its way is abandoned and nothing more is
   * sent (so no socket keeps a Node process alive).
   */
  async close(timeoutMs: number = this.shutdownTimeout): Promise<boolean> {
    this.closed = true;
    this.unregisterExit();
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const done = await this.flush(timeoutMs);
    if (!done) this.stop();
    return done;
  }

  /** Node's `beforeExit`: send what is left, bounded by `shutdownTimeout`. */
  flushAtExit(): void {
    if (this.stopped || this.doneThrough(this.seq)) return;
    void this.flush(this.shutdownTimeout).then((done) => {
      if (!done) this.stop();
    });
  }

  private stop(): void {
    this.stopped = true;
    this.inflight?.abort();
  }

  /** Drops everything still queued (not a request already on its way), counted as dropped. */
  clear(): void {
    this.counts.dropped += this.ring.size;
    this.ring.clear();
    this.settleWaiters();
  }

  /** The counters (see `BeaconStats`). */
  stats(): BeaconStats {
    return { queued: this.ring.size + (this.pending?.count ?? 0), ...this.counts };
  }

  // --- the gateway -----------------------------------------------------------------------------

  /**
   * The base URL to give the provider's own client library: 'openai' → `<url>/api/gateway/openai/v1`,
   * 'anthropic' → `<url>/api/gateway/anthropic` (Anthropic's clients add `/v1/messages`).
   * Use the access token as the client's API key.
   */
  gatewayBaseURL(service: GatewayService): string {
    return gatewayBaseURL(this.url, service);
  }

  /** Beacon's gateway headers (agent, key, fallback key, cache TTL) for the client's default headers. */
  gatewayHeaders(options?: GatewayHeaderOptions): Record<string, string> {
    return gatewayHeaders(options);
  }

  // --- the sending side ------------------------------------------------------------------------

  private arm(): void {
    if (this.flushInterval > 0) {
      this.timer = backgroundTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.flushInterval);
    }
  }

  /** Sends on the next turn of the event loop, not inside the caller's `track`. */
  private soon(): void {
    if (this.pumping) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = backgroundTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, 0);
  }

  private pump(): void {
    if (this.pumping || this.stopped) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pumping = true;
    this.drain()
      .catch(() => undefined)
      .then(() => {
        this.pumping = false;
        this.settleWaiters();
        if (this.ring.size > 0 && this.timer === undefined) this.arm();
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const request = (this.pending ??= this.take());
      this.settleWaiters();
      if (request === undefined) return;
      const wait = request.notBefore - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) return;
      await this.attempt(request);
      this.settleWaiters();
    }
  }

  private doneThrough(target: number): boolean {
    if (this.pending !== undefined && this.pending.firstSeq < target) return false;
    const head = this.ring.at(0);
    return head === undefined || head.seq >= target;
  }

  private settleWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.doneThrough(waiter.target)) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  /** The next request from the queue: a batch of events, or one metric or error. */
  private take(): OutgoingRequest | undefined {
    const ring = this.ring;
    while (ring.size > 0) {
      const first = ring.at(0) as Queued;
      if (first.kind !== EVENT) {
        ring.shift(1);
        const request = this.single(first);
        if (request !== undefined) return request;
        continue;
      }
      const limit = Math.min(ring.size, this.maxBatchSize);
      const random = new Uint8Array(limit * 10);
      randomBytes(random);
      const parts: string[] = [];
      let bytes = EMPTY_BATCH;
      let used = 0;
      while (used < limit) {
        const item = ring.at(used) as Queued;
        if (item.kind !== EVENT) break;
        const event: JsonObject = {
          id: uuid7(item.ts, random, used * 10),
          component: item.component,
          action: item.action,
          timestamp: Math.floor(item.ts),
        };
        if (item.properties !== undefined) event.properties = item.properties;
        if (item.sessionId !== undefined) event.session_id = item.sessionId;
        if (item.userId !== undefined) event.user_id = item.userId;
        const encoded = this.encode(EVENT, this.filter(EVENT, event));
        if (encoded !== undefined) {
          const size = utf8Length(encoded);
          if (parts.length > 0 && bytes + size + 1 > this.maxBatchBytes) break;
          if (bytes + size > this.maxBatchBytes) {
            this.reject(EVENT, 1, 'event larger than the batch size limit');
          } else {
            parts.push(encoded);
            bytes += size + 1;
          }
        }
        used++;
      }
      ring.shift(used);
      if (parts.length > 0) {
        return { kind: EVENT, body: `{"events":[${parts.join(',')}]}`, count: parts.length, firstSeq: first.seq, attempts: 0, notBefore: 0 };
      }
    }
    return undefined;
  }

  private single(item: QueuedOther): OutgoingRequest | undefined {
    const body = item.body;
    if (item.kind === ERROR) {
      for (const [key, limit] of ERROR_LIMITS) {
        const value = body[key];
        if (typeof value === 'string' && value.length > limit) body[key] = value.slice(0, limit);
      }
    } else if (typeof body.value !== 'number' || !Number.isFinite(body.value)) {
      this.reject(item.kind, 1, 'metric value must be a finite number');
      return undefined;
    }
    const encoded = this.encode(item.kind, this.filter(item.kind, body));
    return encoded === undefined ? undefined : { kind: item.kind, body: encoded, count: 1, firstSeq: item.seq, attempts: 0, notBefore: 0 };
  }

  private filter(kind: Kind, body: JsonObject): JsonObject | undefined {
    const hook = this.options.beforeSend;
    if (hook === undefined) return body;
    let kept: JsonObject | null | undefined;
    try {
      kept = hook(KIND_NAMES[kind] as ItemKind, body);
    } catch {
      kept = undefined;
    }
    if (kept == null) {
      this.counts.filtered++;
      return undefined;
    }
    return kept;
  }

  private encode(kind: Kind, body: JsonObject | undefined): string | undefined {
    if (body === undefined) return undefined;
    try {
      return JSON.stringify(body);
    } catch (err) {
      this.reject(kind, 1, `not encodable as JSON: ${String(err)}`);
      return undefined;
    }
  }

  private async attempt(request: OutgoingRequest): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.post(request);
    } catch (err) {
      this.retryLater(request, undefined, undefined, `no answer from Beacon (${String(err)})`);
      return;
    }
    if (answer.status >= 200 && answer.status < 300) {
      this.pending = undefined;
      this.delivered(request, answer.body);
    } else if (RETRYABLE.has(answer.status)) {
      this.retryLater(request, answer.status, answer.retryAfter, describe(answer));
    } else {
      this.pending = undefined;
      this.giveUp(request, answer.status, describe(answer));
    }
  }

  private async post(request: OutgoingRequest): Promise<Answer> {
    const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
    this.inflight = controller;
    const timer = controller && backgroundTimeout(() => controller.abort(), this.requestTimeout);
    try {
      const init: RequestInit = { method: 'POST', headers: this.requestHeaders, body: request.body };
      if (controller) init.signal = controller.signal;
      if (this.options.keepalive) init.keepalive = true;
      if (this.options.credentials) init.credentials = this.options.credentials;
      // Called unbound: browsers refuse a fetch called as a method of something else.
      const fetchImpl = this.options.fetch ?? fetch;
      const res = await fetchImpl(this.url + PATHS[request.kind], init);
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.status, retryAfter: parseRetryAfter(res.headers.get('retry-after')), body };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.inflight = undefined;
    }
  }

  private delivered(request: OutgoingRequest, body: unknown): void {
    const answer = body as { accepted?: number; duplicates?: number; rejected?: { error?: string }[] } | undefined;
    if (request.kind !== EVENT || typeof answer !== 'object' || answer === null) {
      this.counts.sent += request.count;
      return;
    }
    this.counts.sent += answer.accepted ?? 0;
    this.counts.duplicates += answer.duplicates ?? 0;
    const rejected = Array.isArray(answer.rejected) ? answer.rejected : [];
    if (rejected.length > 0) {
      this.reject(EVENT, rejected.length, `Beacon refused ${rejected.length} event(s): ${rejected[0]?.error ?? ''}`, 200);
    }
  }

  private retryLater(request: OutgoingRequest, status: number | undefined, retryAfter: number | undefined, reason: string): void {
    request.attempts++;
    if (request.attempts > this.maxRetries) {
      this.pending = undefined;
      this.giveUp(request, status, `${reason}; gave up after ${this.maxRetries} retries`);
      return;
    }
    this.counts.retries++;
    request.notBefore = Date.now() + backoff(request.attempts, this.retryBase, this.retryMax, retryAfter);
  }

  private giveUp(request: OutgoingRequest, status: number | undefined, reason: string): void {
    this.counts.failed += request.count;
    const kind = KIND_NAMES[request.kind] as ItemKind;
    this.report(new BeaconDeliveryError(`${request.count} ${kind}(s) not delivered to ${PATHS[request.kind]}: ${reason}`, kind, request.count, status));
  }

  private reject(kind: Kind, count: number, reason: string, status?: number): void {
    this.counts.rejected += count;
    this.report(new BeaconDeliveryError(reason, KIND_NAMES[kind] as ItemKind, count, status));
  }

  private report(error: BeaconDeliveryError): void {
    const hook = this.options.onError;
    if (hook === undefined) return;
    try {
      hook(error);
    } catch {
      // the caller's hook must not stop delivery
    }
  }
}
