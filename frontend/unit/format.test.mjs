// @ts-check
// How numbers, money and times read in the app. The app formats in the reader's locale and time
// zone; these tests read as an en-US reader in UTC (`npm run test:unit` sets LC_ALL and TZ).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ago, bytes, capped, change, compact, counted, dateTime, dateTimeZone, duration, errorText, json, num, pct, usd } from '../src/lib/format.ts';

before(() => {
  const { locale, timeZone } = Intl.DateTimeFormat().resolvedOptions();
  assert.ok(locale === 'en-US' && timeZone === 'UTC', `run with LC_ALL=en_US.UTF-8 TZ=UTC (npm run test:unit); this runtime is ${locale}, ${timeZone}`);
});

describe('numbers', () => {
  test('num groups thousands and keeps up to three decimals; missing reads as a dash', () => {
    assert.equal(num(0), '0');
    assert.equal(num(1500), '1,500');
    assert.equal(num(1234567.891), '1,234,567.891');
    assert.equal(num(-42), '-42');
    assert.equal(num(null), '—');
    assert.equal(num(undefined), '—');
  });

  test('compact abbreviates with one decimal at most', () => {
    assert.equal(compact(0), '0');
    assert.equal(compact(999), '999');
    assert.equal(compact(1000), '1K');
    assert.equal(compact(1234), '1.2K');
    assert.equal(compact(15_300), '15.3K');
    assert.equal(compact(1_250_000), '1.3M');
    assert.equal(compact(2_500_000_000), '2.5B');
    assert.equal(compact(null), '—');
  });

  test('pct reads a fraction as a percentage with one decimal', () => {
    assert.equal(pct(0), '0.0%');
    assert.equal(pct(0.1234), '12.3%');
    assert.equal(pct(1), '100.0%');
    assert.equal(pct(2), '200.0%');
    assert.equal(pct(-0.25), '-25.0%');
    assert.equal(pct(null), '—');
  });

  test('change is the signed ratio to the previous value; from nothing it is 0 or unknown', () => {
    assert.equal(change(150, 100), 0.5);
    assert.equal(change(50, 100), -0.5);
    assert.equal(change(100, 100), 0);
    assert.equal(change(0, 100), -1);
    assert.equal(change(0, 0), 0);
    assert.equal(change(5, 0), null);
  });
});

describe('counts and sizes', () => {
  test('capped reads a count at the server’s cap as "at least", with a plus', () => {
    assert.equal(capped(0, 1_000_000), '0');
    assert.equal(capped(12_345, 1_000_000), '12,345');
    assert.equal(capped(999_999, 1_000_000), '999,999');
    assert.equal(capped(1_000_000, 1_000_000), '1,000,000+');
    assert.equal(capped(1_000_001, 1_000_000), '1,000,000+');
    assert.equal(capped(2_000_000, null), '2,000,000');
    assert.equal(capped(null, 1_000_000), '—');
    assert.equal(capped(undefined, 1_000_000), '—');
  });

  test('counted names what it counts, singular only for one', () => {
    assert.equal(counted(1, 'event'), '1 event');
    assert.equal(counted(12, 'event'), '12 events');
    assert.equal(counted(0, 'span'), '0 spans');
    assert.equal(counted(1, 'error occurrence'), '1 error occurrence');
    assert.equal(counted(1500, 'error occurrence'), '1,500 error occurrences');
    assert.equal(counted(2, 'entry', 'entries'), '2 entries');
    assert.equal(
      `Erased ${counted(12, 'event')}, ${counted(3, 'span')} and ${counted(1, 'error occurrence')}`,
      'Erased 12 events, 3 spans and 1 error occurrence',
    );
  });

  test('bytes reads a size in decimal units with one decimal at most; nothing known is a dash', () => {
    assert.equal(bytes(0), '0 B');
    assert.equal(bytes(999), '999 B');
    assert.equal(bytes(1000), '1 KB');
    assert.equal(bytes(1536), '1.5 KB');
    assert.equal(bytes(143_360), '143.4 KB');
    assert.equal(bytes(999_960), '1 MB', 'rounded up to the next unit, never "1,000 KB"');
    assert.equal(bytes(1_500_000), '1.5 MB');
    assert.equal(bytes(12_345_678_901), '12.3 GB');
    assert.equal(bytes(5e15), '5,000 TB');
    assert.equal(bytes(null), '—');
    assert.equal(bytes(undefined), '—');
    assert.equal(bytes(-1), '—');
    assert.equal(bytes(Number.NaN), '—');
  });
});

describe('money', () => {
  test('dollars with two decimals and grouped thousands', () => {
    assert.equal(usd(0), '$0.00');
    assert.equal(usd(1), '$1.00');
    assert.equal(usd(1234.5), '$1,234.50');
    assert.equal(usd(1.005), '$1.01');
    assert.equal(usd(-3), '-$3.00');
    assert.equal(usd(null), '—');
    assert.equal(usd(undefined), '—');
  });

  test('under a dollar, up to four decimals, so a single run’s cost is not shown as zero', () => {
    assert.equal(usd(0.5), '$0.50');
    assert.equal(usd(0.0123), '$0.0123');
    assert.equal(usd(0.12345), '$0.1235');
    assert.equal(usd(0.000285), '$0.0003');
    assert.equal(usd(-0.5), '-$0.50');
  });
});

describe('times', () => {
  const JULY_14 = Date.UTC(2026, 6, 14, 13, 5, 9);

  test('dateTime is medium date and time, in the given zone or the local one', () => {
    assert.equal(dateTime(JULY_14), 'Jul 14, 2026, 1:05:09 PM');
    assert.equal(dateTime(JULY_14, 'UTC'), 'Jul 14, 2026, 1:05:09 PM');
    assert.equal(dateTime(JULY_14, 'Europe/Paris'), 'Jul 14, 2026, 3:05:09 PM');
    assert.equal(dateTime(0), 'Jan 1, 1970, 12:00:00 AM');
    assert.equal(dateTime(null), '—');
    assert.equal(dateTime(undefined), '—');
  });

  test('dateTimeZone names the weekday and the zone’s offset, across a daylight-saving change', () => {
    // Paris moves from UTC+1 to UTC+2 on 29 March 2026: 08:30 UTC is 09:30 the day before, 10:30 that day.
    assert.equal(dateTimeZone(Date.UTC(2026, 2, 28, 8, 30), 'Europe/Paris'), 'Sat, Mar 28, 2026, 09:30 AM GMT+1');
    assert.equal(dateTimeZone(Date.UTC(2026, 2, 29, 8, 30), 'Europe/Paris'), 'Sun, Mar 29, 2026, 10:30 AM GMT+2');
    assert.equal(dateTimeZone(Date.UTC(2026, 0, 5, 14, 30), 'America/New_York'), 'Mon, Jan 5, 2026, 09:30 AM EST');
    assert.equal(dateTimeZone(0, 'UTC'), 'Thu, Jan 1, 1970, 12:00 AM UTC');
  });

  test('ago counts seconds, then minutes, hours and days, before or after now', () => {
    const now = Date.UTC(2026, 6, 14, 12, 0, 0);
    /** @type {[number, string][]} offset from now in seconds, words */
    const cases = [
      [0, 'now'],
      [-10, '10 seconds ago'],
      [-44, '44 seconds ago'],
      [-45, '1 minute ago'],
      [10, 'in 10 seconds'],
      [-30 * 60, '30 minutes ago'],
      [-44 * 60, '44 minutes ago'],
      [-45 * 60, '1 hour ago'],
      [-3 * 3600, '3 hours ago'],
      [5 * 3600, 'in 5 hours'],
      [-17 * 3600, '17 hours ago'],
      [-24 * 3600, 'yesterday'],
      [24 * 3600, 'tomorrow'],
      [-2 * 86400, '2 days ago'],
      [3 * 86400, 'in 3 days'],
      [-400 * 86400, '400 days ago'],
    ];
    for (const [s, words] of cases) assert.equal(ago(now + s * 1000, now), words, `${s} s from now`);
    assert.equal(ago(null), 'never');
    assert.equal(ago(undefined), 'never');
  });

  test('ago defaults to the present', () => {
    assert.equal(ago(Date.now() - 3 * 3600_000), '3 hours ago');
  });

  test('duration: milliseconds, then seconds to a tenth, then minutes and seconds', () => {
    const start = Date.UTC(2026, 6, 14, 12, 0, 0);
    /** @type {[number, string][]} elapsed ms, words */
    const cases = [
      [0, '0 ms'],
      [500, '500 ms'],
      [999, '999 ms'],
      [1000, '1.0 s'],
      [1049, '1.0 s'],
      [12_345, '12.3 s'],
      [59_900, '59.9 s'],
      [60_000, '1 min 0 s'],
      [125_400, '2 min 5 s'],
      [3_600_000, '60 min 0 s'],
    ];
    for (const [ms, words] of cases) assert.equal(duration(start, start + ms), words, `${ms} ms`);
  });

  test('duration never shows 60 seconds: it rounds up into the next minute', () => {
    const start = Date.UTC(2026, 6, 14, 12, 0, 0);
    assert.equal(duration(start, start + 59_960), '1 min 0 s');
    assert.equal(duration(start, start + 119_600), '2 min 0 s');
    assert.equal(duration(start, start + 179_999), '3 min 0 s');
  });

  test('duration of something not started is a dash; of something still running, up to now', () => {
    assert.equal(duration(null, null), '—');
    assert.equal(duration(undefined, 1000), '—');
    assert.match(duration(Date.now() - 2500, null), /^2\.\d s$/);
    assert.match(duration(Date.now() - 90_000, undefined), /^1 min 3\d s$/);
  });
});

describe('values shown as text', () => {
  test('json leaves a string alone and pretty-prints anything else', () => {
    assert.equal(json('plain text'), 'plain text');
    assert.equal(json({ a: 1, b: [true] }), '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}');
    assert.equal(json(3), '3');
    assert.equal(json(null), 'null');
  });

  test('errorText reads a provider or step error, whatever its shape', () => {
    assert.equal(errorText(null), '');
    assert.equal(errorText(undefined), '');
    assert.equal(errorText('timed out after 60 s'), 'timed out after 60 s');
    assert.equal(errorText({ type: 'server_error', message: 'The stand-in failed on purpose.' }), 'server_error: The stand-in failed on purpose.');
    assert.equal(errorText({ code: 'invalid_api_key', message: 'Incorrect API key' }), 'invalid_api_key: Incorrect API key');
    assert.equal(errorText({ type: 'server_error', code: 'ignored when there is a type' }), 'server_error');
    assert.equal(errorText({ message: 'only a message' }), 'only a message');
    assert.equal(errorText({ status: 502 }), '{"status":502}');
    assert.equal(errorText({ message: 5 }), '{"message":5}');
    assert.equal(errorText(42), '42');
  });
});
