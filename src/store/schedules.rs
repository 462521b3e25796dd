//! Schedules and their claimed runs.

use serde_json::{json, Value};
use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team};
use crate::args;
use crate::domain::ids::{TeamId, UserId};
use crate::domain::paging::Page;

row! {
    #[derive(Debug, Clone)]
    pub struct ScheduleRow {
        pub id: String,
        pub team_id: TeamId,
        pub workflow_id: String,
        pub cron: String,
        pub timezone: String,
        pub enabled: i64,
        pub input: String,
        pub overlap: String,
        pub next_run_at: Option<i64>,
        pub last_run_at: Option<i64>,
        pub consecutive_failures: i64,
        pub disabled_reason: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

impl ScheduleRow {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "workflow_id": self.workflow_id,
            "cron": self.cron,
            "timezone": self.timezone,
            "enabled": self.enabled == 1,
            "input": serde_json::from_str::<Value>(&self.input).unwrap_or(Value::Null),
            "overlap": self.overlap,
            "next_run_at": self.next_run_at,
            "last_run_at": self.last_run_at,
            "consecutive_failures": self.consecutive_failures,
            "disabled_reason": self.disabled_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, team_id, workflow_id, cron, timezone, enabled, input, overlap, next_run_at, last_run_at,
                       consecutive_failures, disabled_reason, created_at, updated_at";

/// A schedule's settings, as written by create and update.
pub struct Settings<'a> {
    pub workflow_id: &'a str,
    pub cron: &'a str,
    pub timezone: &'a str,
    pub enabled: bool,
    pub input: &'a str,
    pub overlap: &'a str,
    pub next_run_at: Option<i64>,
}

/// Inserts a schedule unless the team already holds `max` (the quota; `None`: no limit), decided
/// in the statement itself so concurrent creates cannot overshoot. Changes no row when refused.
pub fn insert(
    team: &Team,
    id: &str,
    s: &Settings,
    created_by: &UserId,
    max: Option<i64>,
    now: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO schedules (id, team_id, workflow_id, cron, timezone, enabled, input, overlap, next_run_at, created_by, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE ? IS NULL OR (SELECT COUNT(*) FROM schedules WHERE team_id = ?) < ?",
        args![id, team.id, s.workflow_id, s.cron, s.timezone, i64::from(s.enabled), s.input, s.overlap, s.next_run_at, created_by, now, now, max, team.id, max],
    )
}

/// Re-enabling or editing clears the failure streak and the reason it was disabled.
pub fn update(team: &Team, id: &str, s: &Settings, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE schedules SET workflow_id = ?, cron = ?, timezone = ?, enabled = ?, input = ?, overlap = ?, next_run_at = ?,
                updated_at = ?, consecutive_failures = CASE WHEN ? = 1 AND enabled = 0 THEN 0 ELSE consecutive_failures END,
                disabled_reason = CASE WHEN ? = 1 THEN NULL ELSE disabled_reason END
         WHERE team_id = ? AND id = ?",
        args![
            s.workflow_id,
            s.cron,
            s.timezone,
            i64::from(s.enabled),
            s.input,
            s.overlap,
            s.next_run_at,
            now,
            i64::from(s.enabled),
            i64::from(s.enabled),
            team.id,
            id
        ],
    )
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<ScheduleRow>> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE team_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
    team.db
        .all(&sql, args![team.id, page.before.as_deref(), page.limit + 1])
        .await
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<ScheduleRow>> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE team_id = ? AND id = ?");
    team.db.first(&sql, args![team.id, id]).await
}

pub fn delete(team: &Team, id: &str) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "DELETE FROM schedules WHERE team_id = ? AND id = ?",
        args![team.id, id],
    )
}

// --- the tick (cross-team housekeeping) -----------------------------------------------------------

/// Up to `limit` due schedules, shared fairly between teams: every team's oldest due one first,
/// then every team's second, and so on (round-robin), so one team's hundreds of due schedules
/// cannot push the others' to a later tick.
pub async fn due(db: &Db, now: i64, limit: u32) -> Result<Vec<ScheduleRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM (
           SELECT {COLUMNS}, ROW_NUMBER() OVER (PARTITION BY team_id ORDER BY next_run_at, id) AS turn
           FROM schedules WHERE enabled = 1 AND next_run_at <= ?)
         ORDER BY turn, next_run_at LIMIT ?"
    );
    db.all(&sql, args![now, limit]).await
}

/// Claims one slot: the first tick to insert (schedule, scheduled time) owns it, and only while
/// the schedule is still enabled, still due at that slot and unedited since `s` was read (so a
/// schedule paused or changed meanwhile starts nothing from the old read); the schedule moves to
/// its next run in the same transaction, guarded on the slot it claimed.
pub async fn claim(
    db: &Db,
    s: &ScheduleRow,
    slot: i64,
    next_run_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    let results = db
        .batch(vec![
            db.stmt(
                "INSERT INTO schedule_runs (schedule_id, scheduled_for, team_id, outcome, created_at)
                 SELECT ?, ?, ?, 'started', ? WHERE EXISTS (
                   SELECT 1 FROM schedules WHERE team_id = ? AND id = ? AND enabled = 1
                     AND next_run_at = ? AND updated_at = ?)
                 ON CONFLICT DO NOTHING",
                args![&s.id, slot, &s.team_id, now, &s.team_id, &s.id, slot, s.updated_at],
            )?,
            db.stmt(
                "UPDATE schedules SET next_run_at = ?, last_run_at = ? WHERE team_id = ? AND id = ? AND next_run_at = ? AND changes() > 0",
                args![next_run_at, slot, &s.team_id, &s.id, slot],
            )?,
        ])
        .await?;
    Ok(super::changes(&results[0]) > 0)
}

pub async fn record_outcome(
    db: &Db,
    schedule_id: &str,
    slot: i64,
    outcome: &str,
    execution_id: Option<&str>,
) -> Result<()> {
    db.run(
        "UPDATE schedule_runs SET outcome = ?, execution_id = ? WHERE schedule_id = ? AND scheduled_for = ?",
        args![outcome, execution_id, schedule_id, slot],
    )
    .await?;
    Ok(())
}

/// Whether an execution this schedule started is still pending or running.
pub async fn has_unfinished_run(db: &Db, s: &ScheduleRow) -> Result<bool> {
    let row: Option<()> = db
        .first(
            "SELECT 1 AS one FROM executions WHERE team_id = ? AND schedule_id = ? AND status IN ('pending', 'running') LIMIT 1",
            args![&s.team_id, &s.id],
        )
        .await?;
    Ok(row.is_some())
}

/// After a scheduled run ends: a success resets the failure streak; the fifth failure in a row
/// disables the schedule, with the reason recorded and `disabled_entry` (an activity entry guarded
/// on the statement before it) in the same batch. Answers whether this call disabled it.
pub async fn record_result(
    team: &Team<'_>,
    schedule_id: &str,
    succeeded: bool,
    max_failures: i64,
    now: i64,
    disabled_entry: D1PreparedStatement,
) -> Result<bool> {
    if succeeded {
        team.db
            .run(
                "UPDATE schedules SET consecutive_failures = 0 WHERE team_id = ? AND id = ?",
                args![team.id, schedule_id],
            )
            .await?;
        return Ok(false);
    }
    let reason = format!("Disabled after {max_failures} failed runs in a row.");
    let results = team
        .db
        .batch(vec![
            team.db.stmt(
                "UPDATE schedules SET consecutive_failures = consecutive_failures + 1 WHERE team_id = ? AND id = ?",
                args![team.id, schedule_id],
            )?,
            team.db.stmt(
                "UPDATE schedules SET enabled = 0, disabled_reason = ?, updated_at = ?
                 WHERE team_id = ? AND id = ? AND enabled = 1 AND consecutive_failures >= ?",
                args![reason, now, team.id, schedule_id, max_failures],
            )?,
            disabled_entry,
        ])
        .await?;
    Ok(super::changes(&results[1]) > 0)
}
