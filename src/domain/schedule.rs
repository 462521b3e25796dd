//! When a schedule fires: the next matches of a [`CronExpr`], read as wall-clock times in a time
//! zone, as UTC instants, right across daylight-saving changes.
//!
//! The time-zone database stays behind [`ZoneLookup`] (the UTC offset in force at an instant), so
//! this module is pure: the Worker answers it from the runtime's ICU, the tests from `chrono-tz`.
//!
//! # Daylight saving
//!
//! As in cronie and Vixie cron, an expression whose minute or hour field starts with `*`
//! (`*/15 * * * *`, `0 * * * *`, `* 2 * * *`, `@hourly`) **follows the clock**; any other
//! (`30 2 * * *`, `0 9 * * 1-5`, `@daily`) names **fixed times** of day.
//!
//! - Fixed times fire once per matching wall-clock time. A time the clock skips (spring forward:
//!   02:30 on 2026-03-08 in New York) fires at the first instant after the gap (03:00 EDT), and
//!   several skipped times fire there once, together. A time the clock shows twice (fall back)
//!   fires at its first occurrence only.
//! - Clock-following expressions fire whenever the clock shows a matching time, as it shows it:
//!   skipped times do not fire (nothing is caught up) and repeated times fire in both passes, so
//!   `0 * * * *` fires every real hour (01:00 EDT, then 01:00 EST an hour later) and
//!   `*/30 * * * *` every real half hour, with no double fire and no hole.
//!
//! Assumed of the zone: offset changes are more than a day apart (true of every zone since 1970).
//! Nothing fires after 2100.

mod expr;

pub use expr::CronExpr;

/// What is needed of a time-zone database: the UTC offset in force at an instant.
pub trait ZoneLookup {
    /// Seconds east of UTC at `utc_ms` (epoch milliseconds).
    fn offset_at_utc(&self, utc_ms: i64) -> Result<i32, String>;
}

/// The most `next_runs` returns at once.
pub const MAX_COUNT: usize = 1000;
/// The most an offset change can move the clock: from UTC−12 to UTC+14 (DST moves it by 30
/// minutes to 2 hours; Samoa skipped 2011-12-30 whole).
const MAX_SHIFT: i64 = 26 * 3600;
/// The span of instants read under one offset lookup at each end.
const DAY: i64 = 86_400;
/// 2101-01-01T00:00:00Z: nothing matches later.
const END_OF_2100: i64 = 4_133_980_800;
/// A bound on the walk; ordinary searches take a few steps per fire time.
const MAX_STEPS: usize = 4 * MAX_COUNT + 1000;

/// The next fire time strictly after `after_utc_ms`, in epoch milliseconds.
pub fn next_run(
    expr: &CronExpr,
    zone: &impl ZoneLookup,
    after_utc_ms: i64,
) -> Result<Option<i64>, String> {
    Ok(next_runs(expr, zone, after_utc_ms, 1)?.into_iter().next())
}

/// The next `count` fire times strictly after `after_utc_ms`, ascending, in epoch milliseconds.
/// Fewer (or none) when the expression has no more before 2100.
pub fn next_runs(
    expr: &CronExpr,
    zone: &impl ZoneLookup,
    after_utc_ms: i64,
    count: usize,
) -> Result<Vec<i64>, String> {
    if count > MAX_COUNT {
        return Err(format!("at most {MAX_COUNT} fire times at once"));
    }
    let earliest = after_utc_ms.div_euclid(1000) + 1;
    if count == 0 || earliest > END_OF_2100 {
        return Ok(Vec::new());
    }
    let mut walk = Walk {
        expr,
        zone,
        earliest,
        count,
        fires: Vec::with_capacity(count),
        reached: i64::MIN,
    };
    walk.run()?;
    Ok(walk.fires.iter().map(|s| s * 1000).collect())
}

/// A walk forward through instants (UTC seconds) in stretches of constant offset, turning each
/// stretch's wall-clock matches into instants.
struct Walk<'a, Z> {
    expr: &'a CronExpr,
    zone: &'a Z,
    /// The first instant that may be returned.
    earliest: i64,
    count: usize,
    fires: Vec<i64>,
    /// For fixed times: the wall-clock time up to which (exclusive) the clock has already been,
    /// so a repeated time does not fire again.
    reached: i64,
}

impl<Z: ZoneLookup> Walk<'_, Z> {
    fn offset(&self, instant: i64) -> Result<i64, String> {
        let ms = instant
            .checked_mul(1000)
            .ok_or_else(|| "instant out of range".to_string())?;
        Ok(i64::from(self.zone.offset_at_utc(ms)?))
    }

    fn done(&self) -> bool {
        self.fires.len() >= self.count
    }

    fn run(&mut self) -> Result<(), String> {
        // Start early, so a fall-back just before `earliest` has been seen and the times it
        // repeats are known to have fired already.
        let mut at = self.earliest - MAX_SHIFT;
        let mut offset = self.offset(at)?;
        self.reached = at + offset;
        for _ in 0..MAX_STEPS {
            if self.done() {
                return Ok(());
            }
            // Skip ahead over days with nothing to fire. A clock-following expression may see
            // times up to MAX_SHIFT below the current one again after the clock goes back.
            let lowest_wall = if self.expr.follows_clock() {
                at + offset - MAX_SHIFT
            } else {
                self.reached
            };
            let lowest_wall = lowest_wall.max(self.earliest + offset - MAX_SHIFT);
            let Some(next_wall) = self.expr.next_wall(lowest_wall) else {
                return Ok(());
            };
            let skip_to = next_wall - offset - MAX_SHIFT - 1;
            if skip_to > at + DAY {
                at = skip_to;
                offset = self.offset(at)?;
                self.reached = self.reached.max(at + offset);
            }

            let end = at + DAY;
            let end_offset = self.offset(end)?;
            if end_offset == offset {
                self.stretch(at, end, offset);
                at = end;
            } else {
                let (change, new_offset) = self.find_change(at, offset, end, end_offset)?;
                self.stretch(at, change, offset);
                at = change;
                offset = new_offset;
            }
        }
        Err("the schedule search did not finish; try a simpler expression".into())
    }

    /// The first instant in `(from, to]` whose offset differs from `from_offset`, and that offset.
    fn find_change(
        &self,
        from: i64,
        from_offset: i64,
        to: i64,
        to_offset: i64,
    ) -> Result<(i64, i64), String> {
        let (mut low, mut high, mut high_offset) = (from, to, to_offset);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            let mid_offset = self.offset(mid)?;
            if mid_offset == from_offset {
                low = mid;
            } else {
                (high, high_offset) = (mid, mid_offset);
            }
        }
        Ok((high, high_offset))
    }

    /// Fires the matches among the instants `[start, end)`, all at `offset`.
    fn stretch(&mut self, start: i64, end: i64, offset: i64) {
        let (first_wall, end_wall) = (start + offset, end + offset);
        let mut from = first_wall;
        if !self.expr.follows_clock() {
            // The clock jumped from `reached` to `first_wall`: skipped times fire now.
            if first_wall > self.reached
                && self
                    .expr
                    .next_wall(self.reached)
                    .is_some_and(|w| w < first_wall)
            {
                self.fire(start);
            }
            from = from.max(self.reached);
            self.reached = self.reached.max(end_wall);
        }
        let mut next = self.expr.next_wall(from.max(self.earliest + offset));
        while let Some(wall) = next {
            if wall >= end_wall || self.done() {
                break;
            }
            self.fire(wall - offset);
            next = self.expr.next_wall(wall + 1);
        }
    }

    fn fire(&mut self, instant: i64) {
        let later = self.fires.last().is_none_or(|&last| instant > last);
        if instant >= self.earliest && later && !self.done() {
            self.fires.push(instant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Offset, TimeZone};
    use chrono_tz::Tz;

    /// The tests' time-zone database: chrono-tz, a native-only dev-dependency.
    struct TestZone(Tz);

    impl ZoneLookup for TestZone {
        fn offset_at_utc(&self, utc_ms: i64) -> Result<i32, String> {
            let instant = DateTime::from_timestamp_millis(utc_ms).ok_or("out of range")?;
            Ok(self
                .0
                .offset_from_utc_datetime(&instant.naive_utc())
                .fix()
                .local_minus_utc())
        }
    }

    fn zone(name: &str) -> TestZone {
        TestZone(name.parse().unwrap())
    }

    /// Epoch ms of a UTC time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        expr::tests::at(y, mo, d, h, mi) * 1000
    }

    /// Fire times as local wall-clock readings with their offset, e.g. `03-08 03:00-04:00`.
    fn runs(expr: &str, zone_name: &str, after_ms: i64, count: usize) -> Vec<String> {
        let expr = CronExpr::parse(expr).unwrap();
        let tz: Tz = zone_name.parse().unwrap();
        next_runs(&expr, &zone(zone_name), after_ms, count)
            .unwrap()
            .iter()
            .map(|&ms| {
                DateTime::from_timestamp_millis(ms)
                    .unwrap()
                    .with_timezone(&tz)
                    .format("%m-%d %H:%M%:z")
                    .to_string()
            })
            .collect()
    }

    const NY: &str = "America/New_York";
    const LONDON: &str = "Europe/London";

    #[test]
    fn utc_weekdays_and_strictly_after() {
        let expr = CronExpr::parse("0 9 * * 1-5").unwrap();
        let z = zone("UTC");
        // Friday 2026-03-06 09:00Z exactly: the next is Monday, not the same instant.
        let at = utc(2026, 3, 6, 9, 0);
        assert_eq!(
            next_run(&expr, &z, at).unwrap(),
            Some(utc(2026, 3, 9, 9, 0))
        );
        assert_eq!(next_run(&expr, &z, at - 1).unwrap(), Some(at));
        assert_eq!(
            next_runs(&expr, &z, at, 3).unwrap(),
            [
                utc(2026, 3, 9, 9, 0),
                utc(2026, 3, 10, 9, 0),
                utc(2026, 3, 11, 9, 0)
            ]
        );
        assert!(next_runs(&expr, &z, at, 0).unwrap().is_empty());
        assert!(next_runs(&expr, &z, at, MAX_COUNT + 1).is_err());
    }

    #[test]
    fn every_fifteen_minutes_count_fifty() {
        let expr = CronExpr::parse("*/15 * * * *").unwrap();
        let start = utc(2026, 3, 7, 23, 59);
        let got = next_runs(&expr, &zone("UTC"), start, 50).unwrap();
        let want: Vec<i64> = (0..50)
            .map(|i| utc(2026, 3, 8, 0, 0) + i * 900_000)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn wall_clock_in_the_zone() {
        // 09:00 in Paris is 08:00Z in winter, 07:00Z in summer.
        let expr = CronExpr::parse("0 9 * * *").unwrap();
        let paris = zone("Europe/Paris");
        assert_eq!(
            next_run(&expr, &paris, utc(2026, 1, 15, 0, 0)).unwrap(),
            Some(utc(2026, 1, 15, 8, 0))
        );
        assert_eq!(
            next_run(&expr, &paris, utc(2026, 7, 15, 0, 0)).unwrap(),
            Some(utc(2026, 7, 15, 7, 0))
        );
    }

    /// Expression, asked after (UTC ms), the fire times it must give as local readings.
    type Case = (&'static str, i64, &'static [&'static str]);

    fn check(zone: &str, cases: &[Case]) {
        for (expr, after, want) in cases {
            let got = runs(expr, zone, *after, want.len());
            assert_eq!(got, *want, "{expr} in {zone}");
        }
    }

    #[test]
    fn new_york_spring_forward() {
        // 2026-03-08: 02:00 EST becomes 03:00 EDT; 02:00–02:59 do not exist.
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Fixed times: a skipped time fires when the clock resumes, several at once.
            ("30 2 * * *", utc(2026, 3, 7, 0, 0), &["03-07 02:30-05:00", "03-08 03:00-04:00",
                "03-09 02:30-04:00"]),
            ("0,15,30,45 2-3 * * *", utc(2026, 3, 8, 6, 50), &["03-08 03:00-04:00",
                "03-08 03:15-04:00", "03-08 03:30-04:00"]),
            // Following the clock: what it skipped is not caught up.
            ("0 * * * *", utc(2026, 3, 8, 5, 30), &["03-08 01:00-05:00", "03-08 03:00-04:00",
                "03-08 04:00-04:00"]),
            ("*/30 * * * *", utc(2026, 3, 8, 6, 0), &["03-08 01:30-05:00", "03-08 03:00-04:00",
                "03-08 03:30-04:00"]),
            ("30 * * * *", utc(2026, 3, 8, 6, 0), &["03-08 01:30-05:00", "03-08 03:30-04:00"]),
            ("* 2 * * *", utc(2026, 3, 8, 0, 0), &["03-09 02:00-04:00"]),
        ];
        check(NY, cases);
    }

    #[test]
    fn new_york_fall_back() {
        // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00–01:59 happen twice.
        let second_pass_0110 = utc(2026, 11, 1, 6, 10);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Fixed times: the first occurrence only, even when asked from the second pass.
            ("30 1 * * *", utc(2026, 10, 31, 12, 0), &["11-01 01:30-04:00", "11-02 01:30-05:00"]),
            ("30 1 * * *", second_pass_0110, &["11-02 01:30-05:00"]),
            ("30 2 * * *", utc(2026, 10, 31, 12, 0), &["11-01 02:30-05:00"]),
            ("0,30 1-2 * * *", utc(2026, 11, 1, 4, 0), &["11-01 01:00-04:00", "11-01 01:30-04:00",
                "11-01 02:00-05:00", "11-01 02:30-05:00", "11-02 01:00-05:00"]),
            // Following the clock: both passes, so every real hour and half hour.
            ("0 * * * *", utc(2026, 11, 1, 3, 30), &["11-01 00:00-04:00", "11-01 01:00-04:00",
                "11-01 01:00-05:00", "11-01 02:00-05:00"]),
            ("*/30 * * * *", utc(2026, 11, 1, 4, 45), &["11-01 01:00-04:00", "11-01 01:30-04:00",
                "11-01 01:00-05:00", "11-01 01:30-05:00", "11-01 02:00-05:00"]),
            ("*/30 * * * *", second_pass_0110, &["11-01 01:30-05:00", "11-01 02:00-05:00"]),
        ];
        check(NY, cases);
    }

    #[test]
    fn chained_one_at_a_time_through_the_repeated_hour() {
        let expr = CronExpr::parse("*/30 * * * *").unwrap();
        let z = zone(NY);
        let start = utc(2026, 11, 1, 4, 45);
        let mut at = start;
        let mut chained = Vec::new();
        for _ in 0..5 {
            at = next_run(&expr, &z, at).unwrap().unwrap();
            chained.push(at);
        }
        assert_eq!(chained, next_runs(&expr, &z, start, 5).unwrap());
        let gaps: Vec<i64> = chained.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, [1_800_000; 4]);
    }

    #[test]
    fn london_both_changes() {
        // 2026-03-29: 01:00 GMT becomes 02:00 BST. 2026-10-25: 02:00 BST becomes 01:00 GMT.
        let (spring, autumn) = (utc(2026, 3, 28, 12, 0), utc(2026, 10, 24, 12, 0));
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("30 2 * * *", spring, &["03-29 02:30+01:00", "03-30 02:30+01:00"]),
            ("30 1 * * *", spring, &["03-29 02:00+01:00", "03-30 01:30+01:00"]),
            ("0 * * * *", utc(2026, 3, 28, 23, 30), &["03-29 00:00+00:00", "03-29 02:00+01:00",
                "03-29 03:00+01:00"]),
            ("*/30 * * * *", utc(2026, 3, 29, 0, 15), &["03-29 00:30+00:00", "03-29 02:00+01:00",
                "03-29 02:30+01:00"]),
            ("30 2 * * *", autumn, &["10-25 02:30+00:00", "10-26 02:30+00:00"]),
            ("30 1 * * *", autumn, &["10-25 01:30+01:00", "10-26 01:30+00:00"]),
            ("0 * * * *", utc(2026, 10, 24, 22, 30), &["10-25 00:00+01:00", "10-25 01:00+01:00",
                "10-25 01:00+00:00", "10-25 02:00+00:00"]),
            ("*/30 * * * *", utc(2026, 10, 24, 23, 45), &["10-25 01:00+01:00", "10-25 01:30+01:00",
                "10-25 01:00+00:00", "10-25 01:30+00:00", "10-25 02:00+00:00"]),
        ];
        check(LONDON, cases);
    }

    #[test]
    fn lord_howe_half_hour_changes() {
        // +10:30 standard, +11:00 summer. 2026-04-05 02:00 → 01:30; 2026-10-04 02:00 → 02:30.
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("15 2 * * *", utc(2026, 10, 3, 0, 0), &["10-04 02:30+11:00", "10-05 02:15+11:00"]),
            ("0,30 * * * *", utc(2026, 10, 3, 14, 0), &["10-04 01:00+10:30", "10-04 01:30+10:30",
                "10-04 02:30+11:00"]),
            ("45 1 * * *", utc(2026, 4, 4, 0, 0), &["04-05 01:45+11:00", "04-06 01:45+10:30"]),
            ("*/15 * * * *", utc(2026, 4, 4, 14, 20), &["04-05 01:30+11:00", "04-05 01:45+11:00",
                "04-05 01:30+10:30", "04-05 01:45+10:30", "04-05 02:00+10:30"]),
        ];
        check("Australia/Lord_Howe", cases);
    }

    #[test]
    fn rare_and_impossible() {
        // Leap days only: from 2026 the next is 2028-02-29.
        let leap = CronExpr::parse("0 0 29 2 *").unwrap();
        let got = next_runs(&leap, &zone("UTC"), utc(2026, 1, 1, 0, 0), 2).unwrap();
        assert_eq!(got, [utc(2028, 2, 29, 0, 0), utc(2032, 2, 29, 0, 0)]);
        // Matching ends with 2100 (not a leap year): the list runs out, quickly.
        let got = next_runs(&leap, &zone(NY), utc(2090, 1, 1, 0, 0), 5).unwrap();
        assert_eq!(got.len(), 2);
        assert!(next_runs(&leap, &zone(NY), utc(2097, 1, 1, 0, 0), 5)
            .unwrap()
            .is_empty());
        assert!(next_runs(&leap, &zone(NY), i64::MAX, 5).unwrap().is_empty());
        assert!(CronExpr::parse("0 0 30 2 *").is_err());
    }

    /// The rules above, applied minute by minute: the reference `next_runs` must agree with.
    fn brute_force(expr: &CronExpr, tz: Tz, from_ms: i64, to_ms: i64) -> Vec<i64> {
        let matches = |wall: i64| expr.matches(wall);
        let wall_at = |ms: i64| {
            let t = DateTime::from_timestamp_millis(ms).unwrap();
            t.with_timezone(&tz).naive_local().and_utc().timestamp()
        };
        let mut fires = Vec::new();
        let mut seen = wall_at(from_ms - 60_000);
        for ms in (from_ms..to_ms).step_by(60_000) {
            let wall = wall_at(ms);
            let fire = if expr.follows_clock() {
                matches(wall)
            } else {
                let skipped = (seen + 60..wall).step_by(60).any(matches);
                let fresh = wall > seen && matches(wall);
                seen = seen.max(wall);
                skipped || fresh
            };
            if fire {
                fires.push(ms);
            }
        }
        fires
    }

    #[test]
    fn agrees_with_minute_by_minute_reference_around_changes() {
        let cases = [
            (NY, utc(2026, 3, 7, 12, 0)),
            (NY, utc(2026, 10, 31, 12, 0)),
            (LONDON, utc(2026, 3, 28, 12, 0)),
            (LONDON, utc(2026, 10, 24, 12, 0)),
            ("Australia/Lord_Howe", utc(2026, 4, 4, 0, 0)),
            ("Australia/Lord_Howe", utc(2026, 10, 3, 0, 0)),
            ("Antarctica/Troll", utc(2026, 3, 28, 12, 0)),
            ("Antarctica/Troll", utc(2026, 10, 24, 12, 0)),
            ("Pacific/Apia", utc(2011, 12, 29, 0, 0)),
        ];
        let exprs = [
            "* * * * *",
            "*/15 * * * *",
            "0 * * * *",
            "30 * * * *",
            "*/20 1-3 * * *",
            "* 2 * * *",
            "30 2 * * *",
            "0,30 1,2 * * *",
            "15 0-4 * * 0",
            "0 0 * * *",
            "59 23 30 12 *",
        ];
        for (name, start) in cases {
            let tz: Tz = name.parse().unwrap();
            for text in exprs {
                let expr = CronExpr::parse(text).unwrap();
                let end = start + 3 * 86_400_000;
                let want = brute_force(&expr, tz, start, end);
                // From every half hour of the window, the next few must be the reference's.
                for after in (start..end - 86_400_000).step_by(30 * 60_000) {
                    let got = next_runs(&expr, &TestZone(tz), after, 3).unwrap();
                    let expected: Vec<i64> = want
                        .iter()
                        .copied()
                        .filter(|&t| t > after)
                        .take(3)
                        .collect();
                    let n = expected.len();
                    assert_eq!(&got[..n], &expected[..], "{text} in {name} after {after}");
                }
            }
        }
    }

    #[test]
    fn few_zone_lookups() {
        use std::cell::Cell;
        struct Counting(TestZone, Cell<usize>);
        impl ZoneLookup for Counting {
            fn offset_at_utc(&self, utc_ms: i64) -> Result<i32, String> {
                self.1.set(self.1.get() + 1);
                self.0.offset_at_utc(utc_ms)
            }
        }
        let cases = [
            ("*/15 * * * *", 50, 4),
            ("0 9 * * 1-5", 5, 12),
            ("0 0 1 1 *", 5, 20),
            ("30 2 * * *", 50, 120),
        ];
        for (text, count, most) in cases {
            let zone = Counting(zone(NY), Cell::new(0));
            let expr = CronExpr::parse(text).unwrap();
            let got = next_runs(&expr, &zone, utc(2026, 3, 1, 0, 0), count).unwrap();
            assert_eq!(got.len(), count);
            assert!(zone.1.get() <= most, "{text}: {} lookups", zone.1.get());
        }
    }

    #[test]
    fn zone_errors_are_passed_on() {
        struct Broken;
        impl ZoneLookup for Broken {
            fn offset_at_utc(&self, _: i64) -> Result<i32, String> {
                Err("no zone".into())
            }
        }
        let expr = CronExpr::parse("* * * * *").unwrap();
        assert_eq!(next_run(&expr, &Broken, 0), Err("no zone".into()));
    }
}
