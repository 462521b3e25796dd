//! Time windows for analytics-style routes: `?range=24h|7d|30d|90d` or `?from=&to=`.
//!
//! Bounds are epoch milliseconds, `from` inclusive and `to` exclusive. Each window knows its
//! previous period (the same length, ending where this one starts) for "change vs before" figures.

use chrono::DateTime;

pub const DAY_MS: i64 = 86_400_000;
const MAX_SPAN_MS: i64 = 366 * DAY_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

impl TimeRange {
    pub fn len_ms(&self) -> i64 {
        self.to - self.from
    }

    pub fn previous(&self) -> TimeRange {
        TimeRange {
            from: self.from - self.len_ms(),
            to: self.from,
        }
    }
}

/// The name a window was asked for by, echoed back in responses.
pub fn range_label(range: Option<&str>) -> &str {
    range.unwrap_or("custom")
}

/// Parses the query parameters into a window ending `now` (for `range`) or as given.
/// `default_range` applies when neither `range` nor `from` is given.
pub fn parse_range(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
    default_range: &str,
) -> Result<TimeRange, (&'static str, String)> {
    let range = range.filter(|r| !r.is_empty());
    let from = from.filter(|s| !s.is_empty());
    let to = to.filter(|s| !s.is_empty());
    if range.is_some() && (from.is_some() || to.is_some()) {
        return Err(("range", "give either range or from/to, not both".into()));
    }
    if from.is_none() && to.is_none() {
        let span = span_of(range.unwrap_or(default_range))
            .ok_or_else(|| ("range", "must be one of 24h, 7d, 30d, 90d".to_string()))?;
        return Ok(TimeRange {
            from: now_ms - span,
            to: now_ms,
        });
    }
    let from = from.ok_or(("from", "is required when to is given".to_string()))?;
    let from = parse_instant(from).ok_or((
        "from",
        "must be epoch milliseconds or an RFC 3339 time".to_string(),
    ))?;
    let to = match to {
        Some(t) => parse_instant(t).ok_or((
            "to",
            "must be epoch milliseconds or an RFC 3339 time".to_string(),
        ))?,
        None => now_ms,
    };
    if to <= from {
        return Err(("to", "must be after from".into()));
    }
    if to - from > MAX_SPAN_MS {
        return Err(("from", "the window may span at most 366 days".into()));
    }
    Ok(TimeRange { from, to })
}

fn span_of(name: &str) -> Option<i64> {
    match name {
        "24h" => Some(DAY_MS),
        "7d" => Some(7 * DAY_MS),
        "30d" => Some(30 * DAY_MS),
        "90d" => Some(90 * DAY_MS),
        _ => None,
    }
}

/// Epoch milliseconds or an RFC 3339 timestamp.
pub fn parse_instant(raw: &str) -> Option<i64> {
    if let Ok(ms) = raw.parse::<i64>() {
        return (0..=253_402_300_799_999).contains(&ms).then_some(ms);
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn named_ranges_end_now_and_have_a_previous_period() {
        let r = parse_range(Some("7d"), None, None, NOW, "24h").unwrap();
        assert_eq!(
            r,
            TimeRange {
                from: NOW - 7 * DAY_MS,
                to: NOW
            }
        );
        assert_eq!(
            r.previous(),
            TimeRange {
                from: NOW - 14 * DAY_MS,
                to: NOW - 7 * DAY_MS
            }
        );
        assert_eq!(
            parse_range(None, None, None, NOW, "30d").unwrap().len_ms(),
            30 * DAY_MS
        );
    }

    #[test]
    fn explicit_bounds_accept_epoch_ms_and_rfc3339() {
        let r = parse_range(
            None,
            Some("2026-01-01T00:00:00Z"),
            Some("1767312000000"),
            NOW,
            "7d",
        )
        .unwrap();
        assert_eq!(
            r,
            TimeRange {
                from: 1_767_225_600_000,
                to: 1_767_312_000_000
            }
        );
    }

    #[test]
    fn bad_windows_name_the_parameter() {
        assert_eq!(
            parse_range(Some("1y"), None, None, NOW, "7d")
                .unwrap_err()
                .0,
            "range"
        );
        assert_eq!(
            parse_range(None, Some("yesterday"), None, NOW, "7d")
                .unwrap_err()
                .0,
            "from"
        );
        assert_eq!(
            parse_range(None, Some("2000"), Some("1000"), NOW, "7d")
                .unwrap_err()
                .0,
            "to"
        );
        assert_eq!(
            parse_range(Some("7d"), Some("1"), None, NOW, "7d")
                .unwrap_err()
                .0,
            "range"
        );
        assert_eq!(
            parse_range(None, None, Some("1"), NOW, "7d").unwrap_err().0,
            "from"
        );
        assert_eq!(
            parse_range(
                None,
                Some("0"),
                Some(&(400 * DAY_MS).to_string()),
                NOW,
                "7d"
            )
            .unwrap_err()
            .0,
            "from"
        );
    }
}
