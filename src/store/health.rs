//! What the health check and the cron tick read and write about the deployment itself: the last
//! tick (in `app_state`) and a team's execution backlog.

use worker::Result;

use super::{row, Db, Team};
use crate::args;

/// Records that the cron tick ran at `now`.
pub async fn record_tick(db: &Db, now: i64) -> Result<()> {
    db.run(
        "INSERT INTO app_state (key, value) VALUES ('cron_last_tick', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![now.to_string()],
    )
    .await?;
    Ok(())
}

/// The last cron tick, and the database's size where D1 reports it; also the health check's proof
/// that D1 answers (one query for all three).
pub async fn last_tick(db: &Db) -> Result<(Option<i64>, Option<u64>)> {
    row! {
        struct Tick {
            value: Option<String>,
        }
    }
    let read = db.stmt(
        "SELECT (SELECT value FROM app_state WHERE key = 'cron_last_tick') AS value",
        args![],
    )?;
    let results = db.read_batch(vec![read]).await?;
    let Some(result) = results.first() else {
        return Ok((None, None));
    };
    let row: Option<Tick> = super::first_row(result)?;
    let tick = row.and_then(|r| r.value).and_then(|v| v.parse().ok());
    Ok((tick, super::size_after(result)))
}

row! {
    /// Runs accepted and not yet picked up, runs going, and when the oldest waiting one was made.
    #[derive(Debug)]
    pub struct Backlog {
        pub pending: i64,
        pub running: i64,
        pub oldest: Option<i64>,
    }
}

/// The team's backlog, from the runs themselves (`executions_team_status`): the platform does
/// not report a queue's depth to the Worker.
pub async fn backlog(team: &Team<'_>) -> Result<Option<Backlog>> {
    team.db
        .first(
            "SELECT (SELECT count(*) FROM executions WHERE team_id = ?1 AND status = 'pending') AS pending,
                    (SELECT count(*) FROM executions WHERE team_id = ?1 AND status = 'running') AS running,
                    (SELECT min(created_at) FROM executions WHERE team_id = ?1 AND status = 'pending') AS oldest",
            args![team.id],
        )
        .await
}
