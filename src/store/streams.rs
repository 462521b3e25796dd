//! Open live streams (SSE), one row each, so a user's streams can be counted across isolates. A
//! stream refreshes its row whenever it re-checks its caller and deletes it when it ends; a row
//! not refreshed for [`STALE_MS`] belongs to a stream that died without saying so.

use worker::Result;

use super::Team;
use crate::args;
use crate::domain::ids::UserId;

/// Three times as long as a live stream goes between refreshes (its 10 s re-check interval).
pub const STALE_MS: i64 = 30_000;

/// Records stream `id` for `user_id` unless they already hold `max` live ones, in one statement
/// (so concurrent opens cannot all pass the count); answers whether it was recorded.
pub async fn open(team: &Team<'_>, id: &str, user_id: &UserId, now: i64, max: i64) -> Result<bool> {
    let changed = team
        .db
        .run(
            "INSERT INTO open_streams (id, team_id, user_id, seen_at) SELECT ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM open_streams WHERE user_id = ? AND seen_at > ?) < ?",
            args![id, team.id, user_id, now, user_id, now - STALE_MS, max],
        )
        .await?;
    Ok(changed > 0)
}

/// The stream is still alive.
pub async fn refresh(team: &Team<'_>, id: &str, now: i64) -> Result<()> {
    team.db
        .run(
            "UPDATE open_streams SET seen_at = ? WHERE team_id = ? AND id = ?",
            args![now, team.id, id],
        )
        .await?;
    Ok(())
}

/// The stream ended.
pub async fn close(team: &Team<'_>, id: &str) -> Result<()> {
    team.db
        .run(
            "DELETE FROM open_streams WHERE team_id = ? AND id = ?",
            args![team.id, id],
        )
        .await?;
    Ok(())
}

/// Bounded housekeeping for the cron tick: rows of streams that died without closing.
pub async fn prune(db: &super::Db, now: i64) -> Result<()> {
    db.run(
        "DELETE FROM open_streams WHERE rowid IN (SELECT rowid FROM open_streams WHERE seen_at <= ? LIMIT 500)",
        args![now - STALE_MS],
    )
    .await?;
    Ok(())
}
