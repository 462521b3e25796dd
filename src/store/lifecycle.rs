//! Retention, erasure and the team's stored rows (`migrations/0021_lifecycle.sql`).
//!
//! Retention is one batch per cron tick across every team: each statement deletes at most a
//! chunk of rows past their team's retention, walking an index that exists already (a team's
//! rows in time order), oldest first, so a tick stays short whatever the backlog. Rollups, usage
//! rows and error issues are not touched: analytics over old ranges answer as before.
//!
//! An erasure is one batch too (one transaction): the rollups are corrected from the rows about
//! to go — action counts per hour and component, the hour bits of the users in the erased hours
//! that have no other event there, session counts of sessions left with no event — and then the
//! rows are deleted. The subject's rows are found by scanning the team's events and spans: there
//! is no index on `user_id` / `session_id` (it would be a row written per event for a rare
//! request).

use worker::{D1PreparedStatement, Result};

use super::{changes, row, Db, Team};
use crate::args;
use crate::domain::lifecycle::{Chunks, Erased, Retention, Subject, DAY_MS, FEED_KEEP_MS};

pub async fn get(team: &Team<'_>) -> Result<Option<Retention>> {
    row! {
        struct Days {
            events_days: i64,
            traces_days: i64,
            executions_days: i64,
        }
    }
    let days: Option<Days> = team
        .db
        .first(
            "SELECT events_days, traces_days, executions_days FROM teams WHERE id = ?",
            args![team.id],
        )
        .await?;
    Ok(days.map(|d| Retention {
        events_days: d.events_days,
        traces_days: d.traces_days,
        executions_days: d.executions_days,
    }))
}

pub fn set(team: &Team, r: &Retention) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE teams SET events_days = ?, traces_days = ?, executions_days = ? WHERE id = ?",
        args![r.events_days, r.traces_days, r.executions_days, team.id],
    )
}

/// The subject's events: `?2` its user id, `?3` its session id (NULL when not given). Never NULL
/// itself, so `NOT (...)` is the rest of the team's events.
const MINE: &str = "(IFNULL(user_id = ?2, 0) OR IFNULL(session_id = ?3, 0))";

/// Sessions left with no event once the subject's go (and the named session itself, whose
/// earlier events retention may have deleted already).
const GONE_SESSIONS: &str = "WITH touched AS (
      SELECT DISTINCT session_id FROM events WHERE team_id = ?1 AND session_id IS NOT NULL AND MINE),
    gone AS (
      SELECT session_id FROM touched
      EXCEPT SELECT session_id FROM events
        WHERE team_id = ?1 AND session_id IN (SELECT session_id FROM touched) AND NOT MINE
      UNION SELECT ?3 WHERE ?3 IS NOT NULL)";

/// Users' hour bits of the erased hours where they have no other event (in the team, and in the
/// component for the per-component rows).
const CLEAR_HOURS: &str = "WITH touched AS (
      SELECT DISTINCT user_id, component, ts / 3600000 AS h FROM events
      WHERE team_id = ?1 AND user_id IS NOT NULL AND MINE),
    scoped AS (
      SELECT '' AS scope, user_id, h FROM touched
      UNION SELECT component, user_id, h FROM touched),
    cleared AS (
      SELECT s.scope, s.user_id, s.h / 24 AS day, SUM(DISTINCT 1 << (s.h % 24)) AS bits
      FROM scoped s
      WHERE NOT EXISTS (SELECT 1 FROM events e
        WHERE e.team_id = ?1 AND e.ts >= s.h * 3600000 AND e.ts < s.h * 3600000 + 3600000
          AND e.user_id = s.user_id AND (s.scope = '' OR e.component = s.scope)
          AND NOT (IFNULL(e.user_id = ?2, 0) OR IFNULL(e.session_id = ?3, 0)))
      GROUP BY 1, 2, 3)
    UPDATE active_hours SET hours = hours & ~c.bits FROM cleared c
    WHERE active_hours.team_id = ?1 AND active_hours.kind = 'user' AND active_hours.scope = c.scope
      AND active_hours.day = c.day AND active_hours.subject = c.user_id";

/// Day bits (`days` of the day's block, `prior` of the next) of user-days left with no hour.
const CLEAR_DAYS: &str = "WITH g AS (
      SELECT scope, subject, day / 60 AS block, SUM(DISTINCT 1 << (day % 60)) AS bits
      FROM active_hours WHERE team_id = ?1 AND kind = 'user' AND hours = 0 GROUP BY 1, 2, 3)
    UPDATE active_days SET COLUMN = COLUMN & ~g.bits FROM g
    WHERE active_days.team_id = ?1 AND active_days.kind = 'user' AND active_days.scope = g.scope
      AND active_days.block = g.block + SHIFT AND active_days.subject = g.subject";

/// The subject's error occurrences: those of its spans, and clients' whose context names it.
const MY_OCCURRENCES: &str = "team_id = ?1 AND (
      (trace_id IS NOT NULL AND (trace_id, span_id) IN
        (SELECT trace_id, span_id FROM spans WHERE team_id = ?1 AND MINE))
      OR (json_valid(context) AND (IFNULL(context->>'user_id' = ?2, 0) OR IFNULL(context->>'session_id' = ?3, 0))))";

/// Deletes the subject's events, spans and error occurrences and corrects what was counted from
/// them, in one transaction; answers how many of each went. A second erasure finds nothing.
pub fn erase_statements(team: &Team, s: &Subject) -> Result<Vec<D1PreparedStatement>> {
    let mine = |sql: &str| sql.replace("MINE", MINE);
    let sql = [
        // Actions per hour, and per hour and component.
        mine(
            "UPDATE team_hours SET actions = actions - g.n
              FROM (SELECT ts / 3600000 * 3600000 AS hour, COUNT(*) AS n FROM events
                    WHERE team_id = ?1 AND MINE GROUP BY 1) g
              WHERE team_hours.team_id = ?1 AND team_hours.hour = g.hour",
        ),
        mine(
            "UPDATE event_hours SET actions = actions - g.n
              FROM (SELECT ts / 3600000 * 3600000 AS hour, component, COUNT(*) AS n FROM events
                    WHERE team_id = ?1 AND MINE GROUP BY 1, 2) g
              WHERE event_hours.team_id = ?1 AND event_hours.hour = g.hour
                AND event_hours.component = g.component",
        ),
        // Distinct users: hour bits, then the day bits of days left empty, then empty rows (and
        // every row of an erased user, old days included).
        mine(CLEAR_HOURS),
        CLEAR_DAYS.replace("COLUMN", "days").replace("SHIFT", "0"),
        CLEAR_DAYS.replace("COLUMN", "prior").replace("SHIFT", "1"),
        "DELETE FROM active_hours WHERE team_id = ?1 AND kind = 'user'
           AND (hours = 0 OR subject = ?2)"
            .into(),
        "DELETE FROM active_days WHERE team_id = ?1 AND kind = 'user'
           AND ((days = 0 AND prior = 0) OR subject = ?2)"
            .into(),
        // Sessions: the hour each gone one was counted in, then its row.
        mine(&format!(
            "{GONE_SESSIONS} UPDATE team_hours SET sessions = sessions - g.n
             FROM (SELECT first_hour, COUNT(*) AS n FROM telemetry_sessions
                   WHERE team_id = ?1 AND session_id IN (SELECT session_id FROM gone) GROUP BY 1) g
             WHERE team_hours.team_id = ?1 AND team_hours.hour = g.first_hour"
        )),
        mine(&format!(
            "{GONE_SESSIONS} DELETE FROM telemetry_sessions
             WHERE team_id = ?1 AND session_id IN (SELECT session_id FROM gone)"
        )),
        mine("DELETE FROM events WHERE team_id = ?1 AND MINE"),
        // Error occurrences (their hour's error count follows by trigger), their issues' counts,
        // and issues left with none.
        mine(&format!(
            "UPDATE error_issues SET count = count - g.n
             FROM (SELECT issue_id, COUNT(*) AS n FROM error_occurrences WHERE {MY_OCCURRENCES}
                   GROUP BY 1) g
             WHERE error_issues.id = g.issue_id"
        )),
        // Counted before they go: the delete's own count includes its trigger's updates.
        mine(&format!(
            "SELECT COUNT(*) AS n FROM error_occurrences WHERE {MY_OCCURRENCES}"
        )),
        mine(&format!(
            "DELETE FROM error_occurrences WHERE {MY_OCCURRENCES}"
        )),
        "DELETE FROM error_issues WHERE team_id = ?1 AND count <= 0".into(),
        // Spans, their traces' span counts, and traces left with none.
        mine(
            "UPDATE traces SET span_count = span_count - g.n
              FROM (SELECT trace_id, COUNT(*) AS n FROM spans WHERE team_id = ?1 AND MINE
                    GROUP BY 1) g
              WHERE traces.team_id = ?1 AND traces.trace_id = g.trace_id",
        ),
        mine(
            "DELETE FROM traces WHERE team_id = ?1 AND span_count <= 0
                AND trace_id IN (SELECT trace_id FROM spans WHERE team_id = ?1 AND MINE)",
        ),
        mine("DELETE FROM spans WHERE team_id = ?1 AND MINE"),
    ];
    let params = args![team.id, s.user_id, s.session_id];
    // D1 wants exactly the parameters a statement names: ?1 alone, ?1 and ?2, or all three.
    sql.iter()
        .map(|q| {
            let n = if q.contains("?3") {
                3
            } else if q.contains("?2") {
                2
            } else {
                1
            };
            team.db.stmt(q, &params[..n])
        })
        .collect()
}

/// Where the counts are among [`erase_statements`]' results.
pub fn erased(results: &[super::D1Result]) -> Result<Erased> {
    row! {
        struct Count {
            n: i64,
        }
    }
    let at = |i: usize| results.get(i).map_or(0, changes);
    let occurrences = match results.get(11) {
        Some(r) => super::first_row::<Count>(r)?.map_or(0, |c| c.n as usize),
        None => 0,
    };
    Ok(Erased {
        events: at(9),
        occurrences,
        spans: at(16),
    })
}

/// What one retention tick deleted.
#[derive(Debug, Default)]
pub struct Pruned {
    pub events: usize,
    pub metrics: usize,
    pub spans: usize,
    pub traces: usize,
    pub executions: usize,
    pub feed: usize,
}

impl Pruned {
    pub fn total(&self) -> usize {
        self.events + self.metrics + self.spans + self.traces + self.executions + self.feed
    }
}

/// Rows of `table` (as `x`) past their team's (`t`) retention, `?1` being now: `key` of at most
/// `?2` of them. `teams` leads the join, so each team's rows are a range of its time index.
fn past(table: &str, key: &str, older: &str) -> String {
    format!(
        "SELECT {key} FROM teams t CROSS JOIN {table} x
         WHERE x.team_id = t.id AND {older} LIMIT ?2"
    )
}

/// The cutoff of a team's `days` retention, epoch ms.
fn cutoff(days: &str) -> String {
    format!("(?1 - t.{days} * {DAY_MS})")
}

/// One retention tick, in one transaction: each kind of row past its team's retention, at most
/// `chunks` of each.
pub async fn prune(db: &Db, now: i64, chunks: Chunks) -> Result<Pruned> {
    let (events, traces, executions) = (
        cutoff("events_days"),
        cutoff("traces_days"),
        cutoff("executions_days"),
    );
    let traces = past(
        "traces",
        "x.team_id, x.trace_id",
        &format!("x.started_at < {traces}"),
    );
    // Executions: ids are UUIDv7, so "created before" is an id below the cutoff's (`v7_floor`).
    let executions = past(
        "executions",
        "x.id",
        &format!(
            "x.id < printf('%08x-%04x', {executions} / 65536, {executions} % 65536)
             AND x.status NOT IN ('pending', 'running')"
        ),
    );
    let statements = [
        (
            format!(
                "DELETE FROM events WHERE (team_id, id) IN ({})",
                past("events", "x.team_id, x.id", &format!("x.ts < {events}"))
            ),
            chunks.events,
        ),
        (
            format!(
                "DELETE FROM metrics WHERE id IN ({})",
                past("metrics", "x.id", &format!("x.created_at < {events}"))
            ),
            chunks.events,
        ),
        (
            format!("DELETE FROM spans WHERE (team_id, trace_id) IN ({traces})"),
            chunks.traces,
        ),
        (
            format!("DELETE FROM traces WHERE (team_id, trace_id) IN ({traces})"),
            chunks.traces,
        ),
        (
            format!("DELETE FROM executions WHERE id IN ({executions})"),
            chunks.executions,
        ),
        (
            format!(
                "DELETE FROM execution_events
                 WHERE seq IN (SELECT seq FROM execution_events ORDER BY seq LIMIT ?2)
                   AND created_at < ?1 - {FEED_KEEP_MS}"
            ),
            chunks.events,
        ),
    ];
    let statements = statements
        .iter()
        .map(|(sql, n)| db.stmt(sql, args![now, *n]))
        .collect::<Result<Vec<_>>>()?;
    let results = db.batch(statements).await?;
    let at = |i: usize| results.get(i).map_or(0, changes);
    Ok(Pruned {
        events: at(0),
        metrics: at(1),
        spans: at(2),
        traces: at(3),
        executions: at(4),
        feed: at(5),
    })
}

/// Rows counted per table at most: a count is a walk of the team's index entries.
pub const COUNT_CAP: u32 = 1_000_000;

row! {
    /// The team's rows per table (each at most [`COUNT_CAP`]).
    #[derive(Debug, serde::Serialize)]
    pub struct Stored {
        pub events: i64,
        pub spans: i64,
        pub traces: i64,
        pub executions: i64,
        pub llm_usage: i64,
        pub error_occurrences: i64,
    }
}

/// The team's rows per table, and the database's size in bytes when D1 reports it.
pub async fn stored(team: &Team<'_>) -> Result<(Option<Stored>, Option<u64>)> {
    let count = |table: &str| {
        format!(
            "(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE team_id = ?1 LIMIT ?2)) AS {table}"
        )
    };
    let sql = format!(
        "SELECT {}",
        [
            "events",
            "spans",
            "traces",
            "executions",
            "llm_usage",
            "error_occurrences"
        ]
        .map(count)
        .join(", ")
    );
    let results = team
        .db
        .read_batch(vec![team.db.stmt(&sql, args![team.id, COUNT_CAP])?])
        .await?;
    let Some(result) = results.first() else {
        return Ok((None, None));
    };
    Ok((super::first_row(result)?, super::size_after(result)))
}
