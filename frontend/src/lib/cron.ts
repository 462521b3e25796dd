// A crontab expression in words ("At 09:00, Monday through Friday"). The server's preview of the
// next fire times is the authority; this only helps a person read what they typed.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTHS = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

const isNum = (s: string) => /^\d+$/.test(s);
const pad = (n: string | number) => String(n).padStart(2, '0');

function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** One field's parts in words, with `name` turning a value into a word. */
function fieldWords(field: string, name: (v: string) => string): string {
  return listWords(
    field.split(',').map((part) => {
      const [range, step] = part.split('/');
      const [a, b] = (range ?? '').split('-');
      const every = step ? `every ${step}${range === '*' ? '' : ' '}` : '';
      if (range === '*') return step ? `every ${step}` : 'every';
      if (b !== undefined) return `${every}${step ? 'from ' : ''}${name(a ?? '')} through ${name(b)}`;
      return `${every}${name(a ?? '')}`;
    }),
  );
}

function dayName(v: string): string {
  const n = isNum(v) ? Number(v) : DAY_NAMES[v.toLowerCase()];
  return n === undefined ? v : (DAYS[n] ?? v);
}

function monthName(v: string): string {
  const n = isNum(v) ? Number(v) : MONTH_NAMES[v.toLowerCase()];
  return n === undefined ? v : (MONTHS[n] ?? v);
}

function timePart(min: string, hour: string): string {
  if (min === '*' && hour === '*') return 'Every minute';
  const minStep = /^\*\/(\d+)$/.exec(min);
  if (minStep && hour === '*') return `Every ${minStep[1]} minutes`;
  if (min === '0' && hour === '*') return 'Every hour, on the hour';
  if (isNum(min) && hour === '*') return `At minute ${min} of every hour`;
  if (hour === '*') return `At minutes ${fieldWords(min, (v) => v)} of every hour`;
  if (isNum(min) && hour.split(',').every(isNum)) return `At ${listWords(hour.split(',').map((h) => `${pad(h)}:${pad(min)}`))}`;
  const hourStep = /^\*\/(\d+)$/.exec(hour);
  if (isNum(min) && hourStep) return `Every ${hourStep[1]} hours, at minute ${min}`;
  const hourRange = /^(\d+)-(\d+)$/.exec(hour);
  if (hourRange) {
    const span = `between ${pad(hourRange[1] ?? '')}:00 and ${pad(hourRange[2] ?? '')}:59`;
    if (minStep) return `Every ${minStep[1]} minutes, ${span}`;
    if (min === '*') return `Every minute, ${span}`;
    if (isNum(min)) return `At minute ${min} of every hour, ${span}`;
  }
  return `At minute ${fieldWords(min, (v) => v)} of hour ${fieldWords(hour, (v) => v)}`;
}

export function describeCron(expr: string): string {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return 'A cron expression has five fields: minute hour day-of-month month day-of-week.';
  const [min, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const parts = [timePart(min, hour)];
  const days: string[] = [];
  if (dom !== '*') days.push(`on day ${fieldWords(dom, (v) => v)} of the month`);
  if (dow !== '*' && dow !== '?') {
    const d = dow.toLowerCase();
    days.push(d === '1-5' || d === 'mon-fri' ? 'Monday through Friday' : d === '0,6' || d === 'sat,sun' || d === '6,0' || d === '6-7' ? 'on weekends' : `on ${fieldWords(dow, dayName)}`);
  }
  if (days.length) parts.push(days.join(' or '));
  if (month !== '*') parts.push(`in ${fieldWords(month, monthName)}`);
  return parts.join(', ');
}

export const CRON_PRESETS: { label: string; cron: string }[] = [
  { label: 'Every 15 minutes', cron: '*/15 * * * *' },
  { label: 'Hourly', cron: '0 * * * *' },
  { label: 'Daily at 09:00', cron: '0 9 * * *' },
  { label: 'Weekdays at 09:00', cron: '0 9 * * mon-fri' },
  { label: 'Mondays at 08:30', cron: '30 8 * * mon' },
  { label: 'First of the month', cron: '0 0 1 * *' },
];

/** IANA time zones the browser knows, UTC first. */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const zones = intl.supportedValuesOf?.('timeZone') ?? [];
  return ['UTC', ...zones.filter((z) => z !== 'UTC')];
}

export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
