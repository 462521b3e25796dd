// How numbers, money and times read in the app.

const numberFmt = new Intl.NumberFormat();
const compactFmt = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : numberFmt.format(n);
}

export function compact(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : compactFmt.format(n);
}

/** A count the server stops counting at `cap`: at the cap it means "at least", `1,000,000+`. */
export function capped(n: number | null | undefined, cap: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return cap !== null && cap !== undefined && n >= cap ? `${numberFmt.format(cap)}+` : numberFmt.format(n);
}

/** A count and its noun, plural unless the count is one: `1 event`, `12 events`. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${numberFmt.format(n)} ${n === 1 ? one : many}`;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** A size in bytes, in decimal units as Cloudflare states D1's sizes and limits: `512 B`, `1.5 MB`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  let value = n;
  let unit = 0;
  // Compared after rounding to one decimal, so 999,960 bytes reads 1 MB, never "1,000 KB".
  while (unit < SIZE_UNITS.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    unit += 1;
  }
  return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${SIZE_UNITS[unit]}`;
}

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const digits = n !== 0 && Math.abs(n) < 1 ? 4 : 2;
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: digits }).format(n);
}

export function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)}%`;
}

export function dateTime(ms: number | null | undefined, timeZone?: string): string {
  if (ms === null || ms === undefined) return '—';
  const opts: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'medium' };
  if (timeZone) opts.timeZone = timeZone;
  return new Date(ms).toLocaleString(undefined, opts);
}

export function dateTimeZone(ms: number, timeZone: string): string {
  return new Date(ms).toLocaleString(undefined, {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 64800) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function duration(start: number | null | undefined, end: number | null | undefined): string {
  if (!start) return '—';
  const ms = (end ?? Date.now()) - start;
  if (ms < 1000) return `${ms} ms`;
  // Rounded before it is split, so 59.96 s and 119.6 s never read as "60.0 s" or "1 min 60 s".
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Change of `cur` against `prev` as a signed percentage, or null when there is no base. */
export function change(cur: number, prev: number): number | null {
  if (!prev) return cur ? null : 0;
  return (cur - prev) / prev;
}

export function json(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
}

/** A readable line for an `error` field that may be a string, an object or null. */
export function errorText(e: unknown): string {
  if (e === null || e === undefined) return '';
  if (typeof e === 'string') return e;
  if (typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const msg = typeof o.message === 'string' ? o.message : '';
    const type = typeof o.type === 'string' ? o.type : typeof o.code === 'string' ? o.code : '';
    if (msg || type) return [type, msg].filter(Boolean).join(': ');
  }
  return JSON.stringify(e);
}
