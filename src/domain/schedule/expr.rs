//! Crontab expressions: the five standard fields parsed into a [`CronExpr`] that knows which
//! wall-clock minutes it matches.
//!
//! Matching is a walk over days and minutes of the day against the parsed sets, with crontab's
//! rule that when both day fields are restricted a day matches if EITHER does. (The `cron` crate
//! was tried for matching: it needs a translation — seconds first, weekdays 1–7 from Sunday, and
//! day-of-month AND day-of-week — and added 128 KB raw / 38 KB gzipped to the Worker.) Matches
//! stop after 2100.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};

/// Longer than any sensible expression; stops a pathological input early.
const MAX_LEN: usize = 256;
/// Matching stops after this year, so an expression that never matches ends the search.
const LAST_YEAR: i32 = 2100;

const FIELDS: &str = "minute hour day-of-month month day-of-week";

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for the values `min..`, for the fields that have them.
    names: &'static [&'static str],
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// 0 and 7 are both Sunday, as in crontab.
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One parsed field: the set of values as bits, and whether it was written starting with `*`
/// (crontab decides both the day-field rule and the DST behaviour on that first character).
struct Field {
    bits: u64,
    starts_with_star: bool,
}

impl Field {
    fn values(&self) -> impl Iterator<Item = u32> + '_ {
        (0..64).filter(|v| self.bits & (1u64 << v) != 0)
    }
}

/// A validated crontab expression.
#[derive(Debug, Clone)]
pub struct CronExpr {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Bits 0–6, Sunday first (a 7 is folded into 0).
    days_of_week: u64,
    /// Crontab: when both day fields are restricted, a day matches if either does.
    either_day: bool,
    follows_clock: bool,
}

impl CronExpr {
    /// Parses a standard five-field crontab expression (or `@hourly`, `@daily`, `@midnight`,
    /// `@weekly`, `@monthly`, `@yearly`, `@annually`). Errors say what to change.
    pub fn parse(text: &str) -> Result<CronExpr, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!(
                "the cron expression is empty: expected 5 fields ({FIELDS})"
            ));
        }
        if text.len() > MAX_LEN {
            return Err(format!(
                "the cron expression is too long (at most {MAX_LEN} characters)"
            ));
        }
        let expanded = if text.starts_with('@') {
            expand_macro(text)?
        } else {
            text
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            let hint = if parts.len() > 5 {
                " (seconds and year fields are not supported)"
            } else {
                ""
            };
            return Err(format!(
                "expected 5 fields ({FIELDS}), got {}{hint}",
                parts.len()
            ));
        }
        let minute = parse_field(&MINUTE, parts[0])?;
        let hour = parse_field(&HOUR, parts[1])?;
        let dom = parse_field(&DAY_OF_MONTH, parts[2])?;
        let month = parse_field(&MONTH, parts[3])?;
        let mut dow = parse_field(&DAY_OF_WEEK, parts[4])?;
        if dow.bits & (1 << 7) != 0 {
            dow.bits = (dow.bits & !(1 << 7)) | 1;
        }
        let either_day = !dom.starts_with_star && !dow.starts_with_star;
        if !either_day {
            check_some_day_exists(&dom, &month)?;
        }
        let expr = CronExpr {
            source: text.to_string(),
            minutes: minute.bits,
            hours: hour.bits,
            days_of_month: dom.bits,
            months: month.bits,
            days_of_week: dow.bits,
            either_day,
            follows_clock: minute.starts_with_star || hour.starts_with_star,
        };
        if expr.next_wall(0).is_none() {
            return Err(format!(
                "the cron expression '{text}' never fires: no date matches it"
            ));
        }
        Ok(expr)
    }

    /// The expression as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the expression follows the clock as it ticks (its minute or hour field starts
    /// with `*`) rather than naming fixed times of day: this decides its DST behaviour.
    pub(super) fn follows_clock(&self) -> bool {
        self.follows_clock
    }

    /// The first matching wall-clock time at or after `from`, both as naive local seconds
    /// (the wall-clock reading written as if it were UTC).
    pub(super) fn next_wall(&self, from: i64) -> Option<i64> {
        // Round up to a whole minute.
        let start = DateTime::from_timestamp(from.checked_add(59)?, 0)?.naive_utc();
        let mut date = start.date();
        let mut first_minute = start.hour() * 60 + start.minute();
        while date.year() <= LAST_YEAR {
            if self.matches_day(date) {
                let minute = (first_minute..24 * 60)
                    .find(|m| has(self.hours, m / 60) && has(self.minutes, m % 60));
                if let Some(m) = minute {
                    return Some(date.and_hms_opt(m / 60, m % 60, 0)?.and_utc().timestamp());
                }
            }
            date = date.succ_opt()?;
            first_minute = 0;
        }
        None
    }

    /// Whether a wall-clock time (naive local seconds, on a whole minute) matches.
    #[cfg(test)]
    pub(super) fn matches(&self, wall: i64) -> bool {
        DateTime::from_timestamp(wall, 0).is_some_and(|t| {
            let t = t.naive_utc();
            self.matches_day(t.date()) && has(self.hours, t.hour()) && has(self.minutes, t.minute())
        })
    }

    fn matches_day(&self, date: NaiveDate) -> bool {
        let dom = has(self.days_of_month, date.day());
        let dow = has(self.days_of_week, date.weekday().num_days_from_sunday());
        let day = if self.either_day {
            dom || dow
        } else {
            dom && dow
        };
        day && has(self.months, date.month())
    }
}

fn has(bits: u64, value: u32) -> bool {
    bits & (1u64 << value) != 0
}

fn expand_macro(text: &str) -> Result<&'static str, String> {
    match text.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Ok("0 0 1 1 *"),
        "@monthly" => Ok("0 0 1 * *"),
        "@weekly" => Ok("0 0 * * 0"),
        "@daily" | "@midnight" => Ok("0 0 * * *"),
        "@hourly" => Ok("0 * * * *"),
        "@reboot" => Err("'@reboot' has no meaning for a schedule".into()),
        _ => Err(format!(
            "unknown shorthand '{text}': use @hourly, @daily, @weekly, @monthly, @yearly or 5 fields ({FIELDS})"
        )),
    }
}

/// When day-of-month alone restricts the days, some month in the month field must have one of
/// them (`0 0 30 2 *` never fires). With day-of-week also in play every day occurs eventually.
fn check_some_day_exists(dom: &Field, month: &Field) -> Result<(), String> {
    let Some(first_day) = dom.values().next() else {
        return Ok(());
    };
    let months: Vec<u32> = month.values().collect();
    if months.iter().any(|&m| first_day <= days_in_month(m)) {
        return Ok(());
    }
    let names: Vec<&str> = months
        .iter()
        .filter_map(|&m| MONTH_NAMES.get(m as usize - 1).copied())
        .collect();
    let (verb, list) = match names.split_last() {
        Some((last, [])) => ("has", last.to_string()),
        Some((last, rest)) => ("have", format!("{} and {last}", rest.join(", "))),
        None => ("has", "no month".to_string()),
    };
    Err(format!(
        "the cron expression never fires: {list} {verb} no day {first_day}"
    ))
}

fn days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_field(spec: &FieldSpec, text: &str) -> Result<Field, String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(format!(
                "{} field '{text}' has an empty list item",
                spec.name
            ));
        }
        if item.contains(['?', '#']) || is_quartz_letter(item) {
            return Err(format!(
                "{} field '{item}': '?', 'L', 'W' and '#' are not part of standard crontab",
                spec.name
            ));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, parse_step(spec, item, step)?),
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((low, high)) = range.split_once('-') {
            if low.is_empty() || high.is_empty() {
                return Err(format!(
                    "{} field '{range}': a range needs a value on both sides of '-'",
                    spec.name
                ));
            }
            let low = parse_value(spec, low, false)?;
            let high = parse_value(spec, high, true)?;
            if low > high {
                return Err(format!(
                    "{} field '{range}': a range must go from low to high",
                    spec.name
                ));
            }
            (low, high)
        } else {
            let value = parse_value(spec, range, false)?;
            // `5/15` is read as `5-max/15`, as most crons do.
            (value, if item.contains('/') { spec.max } else { value })
        };
        for value in (low..=high).step_by(step as usize) {
            bits |= 1u64 << value;
        }
    }
    Ok(Field {
        bits,
        starts_with_star: text.starts_with('*'),
    })
}

/// Quartz's `L`, `5L`, `15W`, `LW`.
fn is_quartz_letter(item: &str) -> bool {
    let upper = item.to_ascii_uppercase();
    let stem = upper.trim_end_matches(['L', 'W']);
    stem.len() < upper.len() && stem.chars().all(|c| c.is_ascii_digit())
}

fn parse_step(spec: &FieldSpec, item: &str, step: &str) -> Result<u32, String> {
    let digits = !step.is_empty() && step.chars().all(|c| c.is_ascii_digit());
    match step.parse::<u32>() {
        Ok(step) if digits && step >= 1 => Ok(step),
        _ => Err(format!(
            "{} field '{item}': the step after '/' must be a whole number of at least 1",
            spec.name
        )),
    }
}

/// A number or a name. `range_end` lets `sun` close a weekday range (`fri-sun`) as 7.
fn parse_value(spec: &FieldSpec, token: &str, range_end: bool) -> Result<u32, String> {
    if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(value) if (spec.min..=spec.max).contains(&value) => Ok(value),
            _ => Err(format!(
                "{} field '{token}' is out of range {}–{}",
                spec.name, spec.min, spec.max
            )),
        };
    }
    let lower = token.to_ascii_lowercase();
    if let Some(index) = spec.names.iter().position(|n| *n == lower) {
        let value = spec.min + index as u32;
        return Ok(if range_end && value == 0 { 7 } else { value });
    }
    Err(match (spec.names.first(), spec.names.last()) {
        (Some(first), Some(last)) => {
            let kind = if spec.names.len() == 7 {
                "day"
            } else {
                "month"
            };
            format!(
                "{} field '{token}' is not a number or a {kind} name ({first}–{last})",
                spec.name
            )
        }
        _ => format!("{} field '{token}' is not a number", spec.name),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use chrono::{NaiveDateTime, Weekday};

    /// Seconds since the epoch of a UTC time (or of a wall-clock reading, as naive time).
    pub(in crate::domain::schedule) fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .unwrap()
            .and_utc()
            .timestamp()
    }

    fn naive(wall: i64) -> NaiveDateTime {
        DateTime::from_timestamp(wall, 0).unwrap().naive_utc()
    }

    /// The first `n` matches at or after `from`.
    fn walls(expr: &str, from: i64, n: usize) -> Vec<NaiveDateTime> {
        let expr = CronExpr::parse(expr).unwrap();
        let mut out = Vec::new();
        let mut next = expr.next_wall(from);
        while let Some(w) = next {
            if out.len() == n {
                break;
            }
            out.push(naive(w));
            next = expr.next_wall(w + 1);
        }
        out
    }

    fn err(expr: &str) -> String {
        CronExpr::parse(expr).unwrap_err()
    }

    // 2026-03-01 is a Sunday.
    const MARCH_1: (i32, u32, u32) = (2026, 3, 1);

    fn march_1() -> i64 {
        at(MARCH_1.0, MARCH_1.1, MARCH_1.2, 0, 0)
    }

    #[test]
    fn weekdays_one_to_five_are_monday_to_friday() {
        let days: Vec<Weekday> = walls("0 9 * * 1-5", march_1(), 10)
            .iter()
            .map(|t| t.weekday())
            .collect();
        use Weekday::*;
        assert_eq!(days, [Mon, Tue, Wed, Thu, Fri, Mon, Tue, Wed, Thu, Fri]);
        assert!(walls("0 9 * * 1-5", march_1(), 10)
            .iter()
            .all(|t| t.format("%H:%M").to_string() == "09:00"));
        assert_eq!(
            walls("0 9 * * mon-fri", march_1(), 10),
            walls("0 9 * * 1-5", march_1(), 10)
        );
    }

    #[test]
    fn zero_and_seven_are_both_sunday() {
        for expr in ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN"] {
            let got = walls(expr, march_1() + 1, 3);
            assert!(got.iter().all(|t| t.weekday() == Weekday::Sun), "{expr}");
            assert_eq!(got[0].date(), NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
        }
        let weekend: Vec<Weekday> = walls("0 0 * * fri-sun", march_1(), 3)
            .iter()
            .map(|t| t.weekday())
            .collect();
        assert_eq!(weekend, [Weekday::Sun, Weekday::Fri, Weekday::Sat]);
        assert_eq!(
            walls("0 0 * * 5-7", march_1(), 6),
            walls("0 0 * * fri-sun", march_1(), 6)
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_restricted() {
        // 2026-06: the 1st is a Monday, then Mondays 8, 15, 22, 29; July 1st is a Wednesday.
        let got = walls("0 0 1 * 1", at(2026, 5, 31, 0, 0), 7);
        let days: Vec<(u32, u32)> = got.iter().map(|t| (t.month(), t.day())).collect();
        assert_eq!(
            days,
            [(6, 1), (6, 8), (6, 15), (6, 22), (6, 29), (7, 1), (7, 6)]
        );
        // A star-led field keeps the AND, as in crontab: the 1st and 15th that are Mondays.
        let got = walls("0 0 */14 * 1", at(2026, 1, 1, 0, 0), 2);
        assert!(got
            .iter()
            .all(|t| t.weekday() == Weekday::Mon && [1, 15, 29].contains(&t.day())));
        // Only one field restricted: no OR.
        assert!(walls("0 0 * * 1", march_1(), 5)
            .iter()
            .all(|t| t.weekday() == Weekday::Mon));
        assert!(walls("0 0 13 * *", march_1(), 5)
            .iter()
            .all(|t| t.day() == 13));
    }

    #[test]
    fn steps_ranges_and_lists() {
        let quarter: Vec<String> = walls("*/15 * * * *", march_1() + 1, 5)
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        assert_eq!(quarter, ["00:15", "00:30", "00:45", "01:00", "01:15"]);
        let minutes: Vec<u32> = walls("1-30/5 7 * * *", march_1(), 7)
            .iter()
            .map(Timelike::minute)
            .collect();
        assert_eq!(minutes, [1, 6, 11, 16, 21, 26, 1]);
        let hours: Vec<u32> = walls("0 9,12-13,22/2 * * *", march_1(), 5)
            .iter()
            .map(Timelike::hour)
            .collect();
        assert_eq!(hours, [9, 12, 13, 22, 9]);
    }

    #[test]
    fn month_and_day_names_any_case() {
        let got = walls("0 12 * jan,JUL Mon", at(2026, 1, 1, 0, 0), 6);
        assert!(got
            .iter()
            .all(|t| t.weekday() == Weekday::Mon && [1, 7].contains(&t.month())));
        assert_eq!(got[0], naive(at(2026, 1, 5, 12, 0)));
        assert_eq!(got[4], naive(at(2026, 7, 6, 12, 0)));
    }

    #[test]
    fn shorthands() {
        let cases = [
            ("@daily", at(2026, 3, 2, 0, 0)),
            ("@midnight", at(2026, 3, 2, 0, 0)),
            ("@hourly", at(2026, 3, 1, 1, 0)),
            ("@weekly", at(2026, 3, 8, 0, 0)),
            ("@monthly", at(2026, 4, 1, 0, 0)),
            ("@YEARLY", at(2027, 1, 1, 0, 0)),
            ("@annually", at(2027, 1, 1, 0, 0)),
        ];
        for (expr, want) in cases {
            assert_eq!(walls(expr, march_1() + 1, 1), [naive(want)], "{expr}");
        }
        assert!(CronExpr::parse("@hourly").unwrap().follows_clock());
        assert!(!CronExpr::parse("@daily").unwrap().follows_clock());
    }

    #[test]
    fn star_led_minute_or_hour_follows_the_clock() {
        for expr in [
            "* * * * *",
            "*/15 * * * *",
            "0 * * * *",
            "* 2 * * *",
            "0 */2 * * *",
        ] {
            assert!(CronExpr::parse(expr).unwrap().follows_clock(), "{expr}");
        }
        for expr in ["30 2 * * *", "0 9 * * 1-5", "0-59 0-23 * * *"] {
            assert!(!CronExpr::parse(expr).unwrap().follows_clock(), "{expr}");
        }
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(
            err("0 0 30 2 *"),
            "the cron expression never fires: February has no day 30"
        );
        assert_eq!(
            err("0 0 31 apr,jun *"),
            "the cron expression never fires: April and June have no day 31"
        );
        // Possible, if rarely, or thanks to the weekday.
        assert!(CronExpr::parse("0 0 29 2 *").is_ok());
        assert!(CronExpr::parse("0 0 30 2 mon").is_ok());
        assert!(CronExpr::parse("0 0 30,1 2 *").is_ok());
    }

    #[test]
    fn errors_say_what_to_fix() {
        let fields = "expected 5 fields (minute hour day-of-month month day-of-week)";
        assert_eq!(
            err("0 0 * * * *"),
            format!("{fields}, got 6 (seconds and year fields are not supported)")
        );
        assert_eq!(err("0 0 * *"), format!("{fields}, got 4"));
        assert_eq!(err("  "), format!("the cron expression is empty: {fields}"));
        assert_eq!(err("61 * * * *"), "minute field '61' is out of range 0–59");
        assert_eq!(err("0 24 * * *"), "hour field '24' is out of range 0–23");
        assert_eq!(
            err("0 0 0 * *"),
            "day-of-month field '0' is out of range 1–31"
        );
        assert_eq!(err("0 0 * 13 *"), "month field '13' is out of range 1–12");
        assert_eq!(
            err("0 0 * * 8"),
            "day-of-week field '8' is out of range 0–7"
        );
        assert_eq!(
            err("1-61 * * * *"),
            "minute field '61' is out of range 0–59"
        );
        assert_eq!(
            err("99999999999 * * * *"),
            "minute field '99999999999' is out of range 0–59"
        );
        assert_eq!(
            err("0 0 * * xyz"),
            "day-of-week field 'xyz' is not a number or a day name (sun–sat)"
        );
        assert_eq!(
            err("0 0 * foo *"),
            "month field 'foo' is not a number or a month name (jan–dec)"
        );
        assert_eq!(err("a * * * *"), "minute field 'a' is not a number");
        assert_eq!(
            err("-5 * * * *"),
            "minute field '-5': a range needs a value on both sides of '-'"
        );
        assert_eq!(
            err("*/+5 * * * *"),
            "minute field '*/+5': the step after '/' must be a whole number of at least 1"
        );
        assert_eq!(
            err("*/0 * * * *"),
            "minute field '*/0': the step after '/' must be a whole number of at least 1"
        );
        assert_eq!(
            err("0 5-1 * * *"),
            "hour field '5-1': a range must go from low to high"
        );
        assert_eq!(
            err("1,,2 * * * *"),
            "minute field '1,,2' has an empty list item"
        );
        assert_eq!(
            err("0 0 L * *"),
            "day-of-month field 'L': '?', 'L', 'W' and '#' are not part of standard crontab"
        );
        assert_eq!(
            err("0 0 ? * 1#2"),
            "day-of-month field '?': '?', 'L', 'W' and '#' are not part of standard crontab"
        );
        assert_eq!(err("@reboot"), "'@reboot' has no meaning for a schedule");
        assert!(err("@often").starts_with("unknown shorthand '@often'"));
        assert!(err(&"1,".repeat(200)).contains("too long"));
    }

    #[test]
    fn keeps_the_source() {
        assert_eq!(
            CronExpr::parse("  0 9 * * 1-5 ").unwrap().as_str(),
            "0 9 * * 1-5"
        );
    }
}
