// When to try again: which statuses are worth it, and how long to wait.

/** Statuses worth another try: the server is busy, overloaded or briefly down. */
export const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The longest `Retry-After` obeyed (ms); a bigger one is most likely a misconfigured proxy. */
export const MAX_RETRY_AFTER_MS = 300_000;

/** Milliseconds to wait from a `Retry-After` header: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const when = Date.parse(trimmed);
    if (Number.isNaN(when)) return undefined;
    ms = when - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * The wait before retry number `attempt` (1-based): exponential with equal jitter, and never
 * shorter than what the server asked for.
 */
export function backoff(attempt: number, baseMs: number, capMs: number, retryAfterMs?: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  let delay = ceiling / 2 + Math.random() * (ceiling / 2);
  if (retryAfterMs !== undefined) {
    // A little jitter on top, so clients told the same thing do not return in step.
    delay = Math.max(delay, retryAfterMs + Math.random() * Math.min(1000, retryAfterMs * 0.1));
  }
  return delay;
}
