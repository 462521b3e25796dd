//! UTC calendar months: the period of monthly budgets and of the month-end projection.

use chrono::{DateTime, Datelike, NaiveDate};

/// A calendar month: `key` is `YYYY-MM`; `start` inclusive and `end` exclusive, in epoch ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    pub key: String,
    pub start: i64,
    pub end: i64,
}

/// The UTC month an instant falls in.
pub fn month_of(ms: i64) -> Month {
    let date = DateTime::from_timestamp_millis(ms)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let (y, m) = (date.year(), date.month());
    let first = |y, m| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |t| t.and_utc().timestamp_millis())
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Month {
        key: format!("{y:04}-{m:02}"),
        start: first(y, m),
        end: first(ny, nm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::range::DAY_MS;

    #[test]
    fn months_know_their_bounds_across_the_year_end() {
        let dec = month_of(1_767_225_599_999); // 2025-12-31T23:59:59.999Z
        assert_eq!(dec.key, "2025-12");
        assert_eq!(dec.end, 1_767_225_600_000);
        assert_eq!(dec.end - dec.start, 31 * DAY_MS);
        let feb = month_of(1_771_000_000_000); // 2026-02-13
        assert_eq!(feb.key, "2026-02");
        assert_eq!(feb.end - feb.start, 28 * DAY_MS);
    }
}
