//! Per-team quota counters: how much of a kind a team used in one fixed window.

use worker::{D1PreparedStatement, Result};

use super::{Db, Team, Text};
use crate::args;

/// Adds `n` to the team's count of `kind` in the window starting at `window_start`, only if that
/// keeps it at most `max`, in one statement; answers whether it was added.
pub async fn take(
    team: &Team<'_>,
    kind: &str,
    window_start: i64,
    n: i64,
    max: i64,
) -> Result<bool> {
    let used: Option<Text> = team
        .db
        .first_of(take_stmt(team, kind, window_start, n, max)?)
        .await?;
    Ok(used.is_some())
}

/// [`take`] as a statement whose one row (`n`: the count now) says it was added; no row: over.
pub fn take_stmt(
    team: &Team,
    kind: &str,
    window_start: i64,
    n: i64,
    max: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO quota_usage (team_id, kind, window_start, used) VALUES (?, ?, ?, ?)
         ON CONFLICT (team_id, kind, window_start) DO UPDATE SET used = used + excluded.used
         WHERE used + excluded.used <= ?
         RETURNING used AS n",
        args![team.id, kind, window_start, n, max],
    )
}

/// [`take`] deferred to the next write batch (`Db::must`): adds `n` at its head and fails the
/// whole batch — the addition with it — when that takes the count past `max`.
pub fn must_take(team: &Team<'_>, kind: &str, window_start: i64, n: i64, max: i64) -> Result<()> {
    let db = team.db;
    db.must(db.stmt(
        "INSERT INTO quota_usage (team_id, kind, window_start, used) VALUES (?, ?, ?, ?)
         ON CONFLICT (team_id, kind, window_start) DO UPDATE SET used = used + excluded.used",
        args![team.id, kind, window_start, n],
    )?);
    db.must(db.stmt(
        "INSERT INTO write_checks (quota) SELECT 0 WHERE (SELECT used FROM quota_usage
           WHERE team_id = ? AND kind = ? AND window_start = ?) > ?",
        args![team.id, kind, window_start, max],
    )?);
    Ok(())
}

/// Bounded housekeeping for the cron tick: windows that ended over a day ago.
pub async fn prune(db: &Db, now: i64) -> Result<()> {
    db.run(
        "DELETE FROM quota_usage WHERE rowid IN (SELECT rowid FROM quota_usage WHERE window_start < ? LIMIT 500)",
        args![now - 2 * 86_400_000],
    )
    .await?;
    Ok(())
}
