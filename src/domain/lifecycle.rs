//! Data lifecycle: how long a team keeps its raw rows (retention), whose data an erasure names,
//! and what a retention tick may delete at most. The SQL that does it is `store::lifecycle`.

use serde::Serialize;
use serde_json::Value;

use super::fields::{FieldError, Fields};
pub use super::range::DAY_MS;
/// Each retention is from one day to a little over a year.
pub const MIN_DAYS: i64 = 1;
pub const MAX_DAYS: i64 = 400;

/// How long a team keeps raw telemetry events (and metric samples), trace spans (with message
/// content) and finished executions (with step outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub events_days: i64,
    pub traces_days: i64,
    pub executions_days: i64,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            events_days: 90,
            traces_days: 30,
            executions_days: 90,
        }
    }
}

const FIELDS: [&str; 3] = ["events_days", "traces_days", "executions_days"];

impl Retention {
    /// A `PUT` body: all three fields, each a whole number of days in range.
    pub fn parse(body: &Value) -> Result<Retention, Vec<FieldError>> {
        let mut f = Fields::new(body)?;
        let [a, b, c] = FIELDS.map(|name| match f.optional_integer(name, MIN_DAYS, MAX_DAYS) {
            Some(None) => {
                f.error(name, "is required");
                None
            }
            other => other.flatten(),
        });
        let (events_days, traces_days, executions_days) = f.finish((a, b, c))?;
        Ok(Retention {
            events_days,
            traces_days,
            executions_days,
        })
    }
}

/// Whose data an erasure deletes: an end user, a session, or both (each of their rows goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

impl Subject {
    /// `{user_id?, session_id?}`: at least one, each a non-empty string as the events carry it.
    pub fn parse(body: &Value) -> Result<Subject, Vec<FieldError>> {
        let mut f = Fields::new(body)?;
        let user_id = f.optional_text("user_id", 256);
        let session_id = f.optional_text("session_id", 256);
        if f.error_count() == 0 && user_id.is_none() && session_id.is_none() {
            f.error("user_id", "give a user_id or a session_id (or both)");
        }
        f.finish((Some(()),))?;
        Ok(Subject {
            user_id,
            session_id,
        })
    }

    /// What the activity log says was erased: the kind of subject, never its id.
    pub fn kind(&self) -> &'static str {
        match (&self.user_id, &self.session_id) {
            (Some(_), Some(_)) => "user and session",
            (Some(_), None) => "user",
            _ => "session",
        }
    }
}

/// What an erasure deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub events: usize,
    pub spans: usize,
    pub occurrences: usize,
}

/// Rows of each kind one retention tick deletes at most, across all teams: a tick stays short
/// whatever the backlog, and a backlog is cleared over the ticks that follow, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunks {
    pub events: u32,
    pub traces: u32,
    pub executions: u32,
}

pub const CHUNKS: Chunks = Chunks::of(5_000);

impl Chunks {
    /// `events` rows a tick (events, metric samples, feed rows), a tenth as many traces (with
    /// all their spans) and executions (with all their steps).
    pub const fn of(events: u32) -> Chunks {
        let tenth = if events >= 10 { events / 10 } else { 1 };
        Chunks {
            events,
            traces: tenth,
            executions: tenth,
        }
    }
}

/// The live monitor's status feed is for resuming a stream, not history: a day of it is kept.
pub const FEED_KEEP_MS: i64 = DAY_MS;

/// The database's share of its size limit past which health degrades, and the limit itself
/// (D1's 10 GB), unless the deployment configures others.
pub const SIZE_LIMIT_BYTES: u64 = 10_000_000_000;
pub const SIZE_WARN_PERCENT: u64 = 80;

/// Whether a database of `size` bytes is past `percent` of `limit`.
pub fn nearly_full(size: u64, limit: u64, percent: u64) -> bool {
    limit > 0 && size.saturating_mul(100) > limit.saturating_mul(percent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_retention_needs_all_three_fields_in_range() {
        let ok = json!({"events_days": 30, "traces_days": 1, "executions_days": 400});
        assert_eq!(
            Retention::parse(&ok).unwrap(),
            Retention {
                events_days: 30,
                traces_days: 1,
                executions_days: 400
            }
        );
        let bad = json!({"events_days": 0, "traces_days": 401, "executions_days": "30"});
        assert_eq!(
            fields(&Retention::parse(&bad).unwrap_err()),
            ["events_days", "traces_days", "executions_days"]
        );
        let missing = json!({"events_days": 30, "traces_days": null});
        assert_eq!(
            fields(&Retention::parse(&missing).unwrap_err()),
            ["traces_days", "executions_days"]
        );
        assert_eq!(
            fields(
                &Retention::parse(
                    &json!({"events_days": 7.5, "traces_days": 1, "executions_days": 1})
                )
                .unwrap_err()
            ),
            ["events_days"]
        );
        assert_eq!(
            fields(&Retention::parse(&json!([1])).unwrap_err()),
            ["body"]
        );
    }

    #[test]
    fn the_defaults_are_the_specs() {
        let d = Retention::default();
        assert_eq!(
            (d.events_days, d.traces_days, d.executions_days),
            (90, 30, 90)
        );
    }

    #[test]
    fn an_erasure_names_a_user_or_a_session() {
        let s = Subject::parse(&json!({"user_id": " u-1 "})).unwrap();
        assert_eq!(
            (s.user_id.as_deref(), s.session_id.as_deref(), s.kind()),
            (Some("u-1"), None, "user")
        );
        let s = Subject::parse(&json!({"session_id": "s", "user_id": "u"})).unwrap();
        assert_eq!(s.kind(), "user and session");
        assert_eq!(
            Subject::parse(&json!({"session_id": "s"})).unwrap().kind(),
            "session"
        );
        assert_eq!(
            fields(&Subject::parse(&json!({})).unwrap_err()),
            ["user_id"]
        );
        assert_eq!(
            fields(&Subject::parse(&json!({"user_id": "", "session_id": 5})).unwrap_err()),
            ["user_id", "session_id"]
        );
        assert_eq!(
            fields(&Subject::parse(&json!({"user_id": "x".repeat(257)})).unwrap_err()),
            ["user_id"]
        );
    }

    #[test]
    fn chunks_are_a_tenth_for_traces_and_executions_and_never_zero() {
        assert_eq!(
            CHUNKS,
            Chunks {
                events: 5_000,
                traces: 500,
                executions: 500
            }
        );
        assert_eq!(
            Chunks::of(3),
            Chunks {
                events: 3,
                traces: 1,
                executions: 1
            }
        );
    }

    #[test]
    fn nearly_full_is_past_the_share_of_the_limit() {
        assert!(!nearly_full(8_000, 10_000, 80));
        assert!(nearly_full(8_001, 10_000, 80));
        assert!(!nearly_full(u64::MAX, 0, 80));
        assert!(nearly_full(u64::MAX, SIZE_LIMIT_BYTES, SIZE_WARN_PERCENT));
    }
}
