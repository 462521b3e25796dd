//! How a time window maps onto the telemetry rollups (see `migrations/0003_telemetry.sql`), and
//! the buckets of a trend.
//!
//! Rollups count per UTC hour, so analytics answers for whole hours ([`whole_hours`]): raw
//! events are never scanned, however busy the current hour is. A window of whole hours splits
//! into whole days (read from the 60-day `active_days` bitmaps) and the hours of its first and
//! last partial days (the 24-bit `active_hours` bitmaps); [`plan`] computes the split and the
//! store turns it into SQL.

use super::range::{TimeRange, DAY_MS};

pub const HOUR_MS: i64 = 3_600_000;
/// Days per `active_days` row: its bitmap must fit a positive 64-bit integer.
pub const BLOCK_DAYS: i64 = 60;
/// Hourly trends cover at most this many buckets: 90 days, plus one for an unaligned start.
pub const MAX_HOUR_BUCKETS: i64 = 90 * 24 + 1;

/// Bits `lo..hi` of a bitmap row: hours of one day, or days of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bits {
    /// The day number (for hours) or block number (for days).
    pub row: i64,
    pub lo: i64,
    pub hi: i64,
}

/// A window of whole hours split into the pieces each rollup answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The whole hours `[a, b)`, for per-hour counters.
    pub hours: (i64, i64),
    /// Hours of partial days, for `active_hours`.
    pub day_hours: Vec<Bits>,
    /// Whole days, per 60-day block, for `active_days`.
    pub block_days: Vec<Bits>,
}

impl Plan {
    /// The whole days `[first, end)` (day numbers), if any: what per-day rollups answer.
    pub fn whole_days(&self) -> Option<(i64, i64)> {
        let first = self.block_days.first()?;
        let last = self.block_days.last()?;
        Some((
            first.row * BLOCK_DAYS + first.lo,
            last.row * BLOCK_DAYS + last.hi,
        ))
    }

    /// The hours of partial days as `[from, to)` in epoch ms: what per-hour rollups answer
    /// beside [`Plan::whole_days`].
    pub fn partial_hours(&self) -> Vec<(i64, i64)> {
        self.day_hours
            .iter()
            .map(|b| {
                (
                    b.row * DAY_MS + b.lo * HOUR_MS,
                    b.row * DAY_MS + b.hi * HOUR_MS,
                )
            })
            .collect()
    }
}

fn floor(t: i64, unit: i64) -> i64 {
    t.div_euclid(unit) * unit
}

fn ceil(t: i64, unit: i64) -> i64 {
    -floor(-t, unit)
}

/// The window analytics answers for, in whole UTC hours: a named range (`named`) keeps its
/// length and ends with the current hour; `from`/`to` widen to the hours that hold them.
pub fn whole_hours(range: TimeRange, named: bool) -> TimeRange {
    let to = ceil(range.to, HOUR_MS);
    let from = if named {
        to - ceil(range.len_ms(), HOUR_MS)
    } else {
        floor(range.from, HOUR_MS)
    };
    TimeRange { from, to }
}

/// Splits the whole hours holding `[from, to)` into partial days and whole days.
pub fn plan(range: TimeRange) -> Plan {
    let (h0, h1) = (floor(range.from, HOUR_MS), ceil(range.to, HOUR_MS));
    let mut plan = Plan {
        hours: (h0, h1),
        ..Plan::default()
    };
    if h1 <= h0 {
        return plan;
    }
    let (d0, d1) = (ceil(h0, DAY_MS), floor(h1, DAY_MS));
    let hour_of = |t: i64| (t - floor(t, DAY_MS)) / HOUR_MS;
    let day_of = |t: i64| t.div_euclid(DAY_MS);
    if d0 > d1 {
        // Within one day.
        plan.day_hours.push(Bits {
            row: day_of(h0),
            lo: hour_of(h0),
            hi: hour_of(h1 - 1) + 1,
        });
        return plan;
    }
    if h0 < d0 {
        plan.day_hours.push(Bits {
            row: day_of(h0),
            lo: hour_of(h0),
            hi: 24,
        });
    }
    if d1 < h1 {
        plan.day_hours.push(Bits {
            row: day_of(d1),
            lo: 0,
            hi: hour_of(h1 - 1) + 1,
        });
    }
    let (first_day, end_day) = (day_of(d0), day_of(d1));
    let mut day = first_day;
    while day < end_day {
        let block = day.div_euclid(BLOCK_DAYS);
        let hi = end_day.min((block + 1) * BLOCK_DAYS);
        plan.block_days.push(Bits {
            row: block,
            lo: day - block * BLOCK_DAYS,
            hi: hi - block * BLOCK_DAYS,
        });
        day = hi;
    }
    plan
}

/// Which bitmap of an `active_days` row: its own block's days, or the block before's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Days,
    Prior,
}

impl Column {
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Days => "days",
            Column::Prior => "prior",
        }
    }
}

/// A partial day of a window, checked in `active_hours` only for subjects whose row has its day
/// bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub column: Column,
    /// The day's bit in `column`.
    pub bit: i64,
    pub day: i64,
    /// Hours `lo..hi` of that day.
    pub lo: i64,
    pub hi: i64,
}

/// A window that one `active_days` row per subject answers (each row also carries the previous
/// block's days, so any window touching at most 61 days fits): the row's block, the whole days
/// as bits of either column, and the partial days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPlan {
    pub block: i64,
    pub whole: Vec<(Column, i64, i64)>,
    pub edges: Vec<Edge>,
}

/// The one-row-per-subject form of `plan`, when the window is short enough for it.
pub fn single_row(plan: &Plan) -> Option<RowPlan> {
    single_row_in(plan, last_block(plan)?)
}

/// The block of a window's last day: the rows that can answer it alone.
pub fn last_block(plan: &Plan) -> Option<i64> {
    let last_day = plan
        .block_days
        .iter()
        .map(|b| b.row * BLOCK_DAYS + b.hi - 1)
        .chain(plan.day_hours.iter().map(|b| b.row))
        .max()?;
    Some(last_day.div_euclid(BLOCK_DAYS))
}

/// `plan` read from the rows of `block` (whose `prior` holds the block before), if they cover it:
/// two adjacent windows can then share one pass over those rows.
pub fn single_row_in(plan: &Plan, block: i64) -> Option<RowPlan> {
    let column = |row_block: i64| match row_block - block {
        0 => Some(Column::Days),
        -1 => Some(Column::Prior),
        _ => None,
    };
    let mut row = RowPlan {
        block,
        whole: Vec::new(),
        edges: Vec::new(),
    };
    for b in &plan.block_days {
        row.whole.push((column(b.row)?, b.lo, b.hi));
    }
    for b in &plan.day_hours {
        let day_block = b.row.div_euclid(BLOCK_DAYS);
        row.edges.push(Edge {
            column: column(day_block)?,
            bit: b.row - day_block * BLOCK_DAYS,
            day: b.row,
            lo: b.lo,
            hi: b.hi,
        });
    }
    Some(row)
}

/// A trend's bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn parse(raw: &str) -> Result<Interval, &'static str> {
        match raw {
            "hour" => Ok(Interval::Hour),
            "day" => Ok(Interval::Day),
            _ => Err("must be hour or day"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        }
    }
}

/// What a trend counts (`?metric=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendMetric {
    Actions,
    Users,
    Executions,
    Errors,
    Tokens,
    Cost,
}

impl TrendMetric {
    pub const ALL: [TrendMetric; 6] = [
        TrendMetric::Actions,
        TrendMetric::Users,
        TrendMetric::Executions,
        TrendMetric::Errors,
        TrendMetric::Tokens,
        TrendMetric::Cost,
    ];

    pub fn parse(raw: &str) -> Result<TrendMetric, &'static str> {
        TrendMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == raw)
            .ok_or("must be one of actions, users, executions, errors, tokens, cost")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrendMetric::Actions => "actions",
            TrendMetric::Users => "users",
            TrendMetric::Executions => "executions",
            TrendMetric::Errors => "errors",
            TrendMetric::Tokens => "tokens",
            TrendMetric::Cost => "cost",
        }
    }
}

/// The whole UTC buckets that cover a window: starts from the bucket holding `from` to the one
/// holding the window's last millisecond. Errors when an hourly trend would be too long.
pub fn buckets(range: TimeRange, interval: Interval) -> Result<Vec<i64>, &'static str> {
    let unit = interval.ms();
    let (first, end) = (floor(range.from, unit), ceil(range.to, unit));
    if interval == Interval::Hour && (end - first) / unit > MAX_HOUR_BUCKETS {
        return Err("interval=hour covers at most 90 days; use interval=day");
    }
    Ok((first..end).step_by(unit as usize).collect())
}

/// The span `[first bucket, end of last bucket)` that [`buckets`] covers.
pub fn bucket_span(range: TimeRange, interval: Interval) -> TimeRange {
    let unit = interval.ms();
    TimeRange {
        from: floor(range.from, unit),
        to: ceil(range.to, unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_whole_days_and_the_hours_of_its_partial_ones() {
        let day = |d: i64| d * DAY_MS;
        // 30 days ending inside day 20,793 at 18:00, across a block boundary (20,760 = 346 * 60).
        let p = plan(TimeRange {
            from: day(20_763) + 18 * HOUR_MS,
            to: day(20_793) + 18 * HOUR_MS,
        });
        assert_eq!(p.whole_days(), Some((20_764, 20_793)));
        assert_eq!(
            p.partial_hours(),
            vec![
                (day(20_763) + 18 * HOUR_MS, day(20_764)),
                (day(20_793), day(20_793) + 18 * HOUR_MS)
            ]
        );
        // Inside one day: no whole day.
        let p = plan(TimeRange {
            from: day(5) + HOUR_MS,
            to: day(5) + 3 * HOUR_MS,
        });
        assert_eq!(p.whole_days(), None);
        assert_eq!(
            p.partial_hours(),
            vec![(day(5) + HOUR_MS, day(5) + 3 * HOUR_MS)]
        );
        // Whole days only, over two blocks.
        let p = plan(TimeRange {
            from: day(50),
            to: day(70),
        });
        assert_eq!(p.whole_days(), Some((50, 70)));
        assert!(p.partial_hours().is_empty());
    }

    /// 2026-01-01T00:00:00Z: day 20454, bit 54 of its block.
    const T0: i64 = 1_767_225_600_000;

    fn range(from: i64, to: i64) -> TimeRange {
        TimeRange { from, to }
    }

    /// The hours the pieces cover, each once.
    fn covered_hours(p: &Plan) -> Vec<i64> {
        let mut hours = Vec::new();
        for b in &p.block_days {
            for d in b.lo..b.hi {
                let day = (b.row * BLOCK_DAYS + d) * DAY_MS;
                hours.extend((0..24).map(|h| day + h * HOUR_MS));
            }
        }
        for b in &p.day_hours {
            hours.extend((b.lo..b.hi).map(|h| b.row * DAY_MS + h * HOUR_MS));
        }
        hours.sort();
        hours
    }

    #[test]
    fn pieces_tile_the_whole_hours_exactly() {
        let cases = [
            (T0 + 1, T0 + 90 * DAY_MS - 7),
            (T0 + 30 * 60_000, T0 + 5 * HOUR_MS + 1),
            (T0 - 3 * HOUR_MS, T0 + 2 * HOUR_MS),
            (T0, T0 + DAY_MS),
            (T0 + 17, T0 + 42),
            (T0 - 61 * DAY_MS + 5 * HOUR_MS, T0 + 13 * HOUR_MS + 9),
        ];
        for (from, to) in cases {
            let p = plan(range(from, to));
            let (h0, h1) = p.hours;
            assert!(h0 <= from && from - h0 < HOUR_MS && h1 >= to && h1 - to < HOUR_MS);
            let expected: Vec<i64> = (h0..h1).step_by(HOUR_MS as usize).collect();
            assert_eq!(covered_hours(&p), expected, "{from}..{to}");
            for b in p.block_days.iter().chain(&p.day_hours) {
                assert!(0 <= b.lo && b.lo < b.hi, "{b:?}");
            }
            assert!(p.block_days.iter().all(|b| b.hi <= BLOCK_DAYS));
            assert!(p.day_hours.iter().all(|b| b.hi <= 24));
        }
    }

    #[test]
    fn an_aligned_window_is_whole_days() {
        let day0 = T0.div_euclid(DAY_MS);
        let p = plan(range(T0, T0 + 2 * DAY_MS));
        assert!(p.day_hours.is_empty());
        let block = day0.div_euclid(BLOCK_DAYS);
        let lo = day0 - block * BLOCK_DAYS;
        assert_eq!(lo, 54);
        assert_eq!(
            p.block_days,
            [Bits {
                row: block,
                lo,
                hi: lo + 2
            }]
        );
    }

    #[test]
    fn windows_up_to_61_days_fit_one_row_per_subject() {
        // T0 is bit 54 of its block: 60 days back reach bit 54 of the block before.
        let day0 = T0.div_euclid(DAY_MS);
        let p = plan(range(T0 + 5 * HOUR_MS - 60 * DAY_MS, T0 + 5 * HOUR_MS));
        let row = single_row(&p).expect("fits");
        assert_eq!(row.block, day0.div_euclid(BLOCK_DAYS));
        assert_eq!(row.whole, [(Column::Prior, 55, 60), (Column::Days, 0, 54)]);
        let edge = |column, day, lo, hi| Edge {
            column,
            bit: 54,
            day,
            lo,
            hi,
        };
        assert_eq!(
            row.edges,
            [
                edge(Column::Prior, day0 - 60, 5, 24),
                edge(Column::Days, day0, 0, 5)
            ]
        );
        let month = single_row(&plan(range(
            T0 + 5 * HOUR_MS - 30 * DAY_MS,
            T0 + 5 * HOUR_MS,
        )));
        assert_eq!(month.map(|r| r.whole), Some(vec![(Column::Days, 25, 54)]));
        let previous = plan(range(
            T0 + 5 * HOUR_MS - 120 * DAY_MS,
            T0 + 5 * HOUR_MS - 60 * DAY_MS,
        ));
        assert_eq!(last_block(&previous), Some(row.block - 1));
        assert!(single_row_in(&previous, row.block).is_none());
        let prev_month = plan(range(T0 - 60 * DAY_MS, T0 - 30 * DAY_MS));
        assert_eq!(
            single_row_in(&prev_month, row.block).map(|r| r.block),
            Some(row.block)
        );
        let inside = single_row(&plan(range(T0, T0 + 3 * HOUR_MS))).expect("fits");
        assert!(inside.whole.is_empty() && inside.edges.len() == 1);
        assert!(single_row(&plan(range(T0 - 90 * DAY_MS, T0))).is_some());
        assert!(single_row(&plan(range(T0 - 121 * DAY_MS, T0))).is_none());
    }

    #[test]
    fn windows_become_whole_hours() {
        let now = T0 + 5 * HOUR_MS + 7;
        let named = whole_hours(range(now - 7 * DAY_MS, now), true);
        assert_eq!(
            named,
            range(T0 + 6 * HOUR_MS - 7 * DAY_MS, T0 + 6 * HOUR_MS)
        );
        let custom = whole_hours(range(T0 + 30 * 60_000, T0 + 90 * 60_000), false);
        assert_eq!(custom, range(T0, T0 + 2 * HOUR_MS));
        assert_eq!(
            whole_hours(range(T0, T0 + HOUR_MS), true),
            range(T0, T0 + HOUR_MS)
        );
    }

    #[test]
    fn buckets_are_whole_and_capped() {
        let r = range(T0 + HOUR_MS + 5, T0 + 3 * DAY_MS);
        let days = buckets(r, Interval::Day).unwrap();
        assert_eq!(days, [T0, T0 + DAY_MS, T0 + 2 * DAY_MS]);
        let hours = buckets(range(T0 + 5, T0 + 2 * HOUR_MS + 1), Interval::Hour).unwrap();
        assert_eq!(hours, [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]);
        assert!(buckets(range(T0, T0 + 91 * DAY_MS), Interval::Hour).is_err());
        let ninety = range(T0 + 5, T0 + 5 + 90 * DAY_MS);
        assert_eq!(buckets(ninety, Interval::Hour).map(|b| b.len()), Ok(2161));
        assert_eq!(
            buckets(range(T0, T0 + 90 * DAY_MS), Interval::Hour).map(|b| b.len()),
            Ok(2160)
        );
    }
}
