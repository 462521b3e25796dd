// @ts-check
// describeCron: what the schedule form and the schedule pages show under a cron expression.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CRON_PRESETS, describeCron, localZone, timeZones } from '../src/lib/cron.ts';

/** @param {[string, string][]} cases expression, words */
function expectWords(cases) {
  for (const [expr, words] of cases) assert.equal(describeCron(expr), words, `describeCron(${JSON.stringify(expr)})`);
}

describe('describeCron', () => {
  test('minutes and hours alone', () => {
    expectWords([
      ['* * * * *', 'Every minute'],
      ['*/15 * * * *', 'Every 15 minutes'],
      ['0 * * * *', 'Every hour, on the hour'],
      ['5 * * * *', 'At minute 5 of every hour'],
      ['0,30 * * * *', 'At minutes 0 and 30 of every hour'],
      ['15-45/5 * * * *', 'At minutes every 5 from 15 through 45 of every hour'],
    ]);
  });

  test('times of day are zero-padded 24-hour clock times', () => {
    expectWords([
      ['0 9 * * *', 'At 09:00'],
      ['5 0 * * *', 'At 00:05'],
      ['30 23 * * *', 'At 23:30'],
      ['0 9,17 * * *', 'At 09:00 and 17:00'],
      ['15 6,12,18 * * *', 'At 06:15, 12:15 and 18:15'],
    ]);
  });

  test('hour steps and ranges', () => {
    expectWords([
      ['0 */2 * * *', 'Every 2 hours, at minute 0'],
      ['*/10 9-17 * * *', 'Every 10 minutes, between 09:00 and 17:59'],
      ['* 9-17 * * *', 'Every minute, between 09:00 and 17:59'],
      ['5 9-17 * * *', 'At minute 5 of every hour, between 09:00 and 17:59'],
    ]);
  });

  test('days of the week, by number or name, in any case', () => {
    expectWords([
      ['30 9 * * mon-fri', 'At 09:30, Monday through Friday'],
      ['30 9 * * 1-5', 'At 09:30, Monday through Friday'],
      ['30 9 * * MON-FRI', 'At 09:30, Monday through Friday'],
      ['0 12 * * MON', 'At 12:00, on Monday'],
      ['0 0 * * 1,3,5', 'At 00:00, on Monday, Wednesday and Friday'],
      ['0 0 * * 5-7', 'At 00:00, on Friday through Sunday'],
      ['0 0 * * tue-thu', 'At 00:00, on Tuesday through Thursday'],
    ]);
  });

  test('both 0 and 7 are Sunday, and every spelling of the weekend says so', () => {
    expectWords([
      ['0 0 * * 0', 'At 00:00, on Sunday'],
      ['0 0 * * 7', 'At 00:00, on Sunday'],
      ['0 0 * * sun', 'At 00:00, on Sunday'],
      ['0 0 * * 0,6', 'At 00:00, on weekends'],
      ['0 0 * * 6,0', 'At 00:00, on weekends'],
      ['0 0 * * 6-7', 'At 00:00, on weekends'],
      ['0 0 * * sat,sun', 'At 00:00, on weekends'],
    ]);
  });

  test('days of the month and months', () => {
    expectWords([
      ['0 0 1 * *', 'At 00:00, on day 1 of the month'],
      ['0 0 1,15 * *', 'At 00:00, on day 1 and 15 of the month'],
      ['0 12 * jan *', 'At 12:00, in January'],
      ['0 12 * 12 *', 'At 12:00, in December'],
      ['0 12 1 1-3 *', 'At 12:00, on day 1 of the month, in January through March'],
      ['0 0 * dec mon', 'At 00:00, on Monday, in December'],
    ]);
  });

  test('a restricted day of the month and day of the week read as either (crontab semantics)', () => {
    expectWords([['0 0 13 * fri', 'At 00:00, on day 13 of the month or on Friday']]);
  });

  test('`?` in the day of the week means any day; surrounding and repeated spaces are ignored', () => {
    expectWords([
      ['0 0 * * ?', 'At 00:00'],
      ['  0 9 * * *  ', 'At 09:00'],
      ['0  9\t* * *', 'At 09:00'],
    ]);
  });

  test('anything but five fields is explained instead of described', () => {
    const help = 'A cron expression has five fields: minute hour day-of-month month day-of-week.';
    for (const expr of ['', '   ', '0 9 * *', '0 0 9 * * *', '@daily']) assert.equal(describeCron(expr), help, JSON.stringify(expr));
  });

  test('every preset the form offers is described in words', () => {
    const words = Object.fromEntries(CRON_PRESETS.map((p) => [p.label, describeCron(p.cron)]));
    assert.deepEqual(words, {
      'Every 15 minutes': 'Every 15 minutes',
      Hourly: 'Every hour, on the hour',
      'Daily at 09:00': 'At 09:00',
      'Weekdays at 09:00': 'At 09:00, Monday through Friday',
      'Mondays at 08:30': 'At 08:30, on Monday',
      'First of the month': 'At 00:00, on day 1 of the month',
    });
  });
});

describe('time zones', () => {
  test('the list starts with UTC, once, and holds the IANA names the browser knows', () => {
    const zones = timeZones();
    assert.equal(zones[0], 'UTC');
    assert.equal(zones.filter((z) => z === 'UTC').length, 1);
    assert.equal(new Set(zones).size, zones.length, 'a zone is listed twice');
    for (const z of ['Europe/Paris', 'America/New_York', 'Asia/Tokyo']) assert.ok(zones.includes(z), `${z} is missing`);
  });

  test('the local zone is the runtime’s own', () => {
    assert.equal(localZone(), Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});
