//! The outbox: every message Beacon sends, kept until it is sent or given up. A sent or given-up
//! message's body (it holds a single-use link) is erased.

use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team};
use crate::args;

/// A message to store.
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// Already handled (the `log` mailer), or `None` to be sent.
    pub sent_at: Option<i64>,
    /// When to try sending it; `None` when it needs no sending.
    pub due_at: Option<i64>,
}

pub fn insert(team: &Team, m: &NewMessage, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO outbox (id, team_id, to_email, subject, body, created_at, sent_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        args![m.id, team.id, m.to, m.subject, m.body, now, m.sent_at, m.due_at],
    )
}

/// Messages due for an attempt, oldest due first (the cron tick's housekeeping, across teams).
pub async fn due(db: &Db, now: i64, limit: u32) -> Result<Vec<String>> {
    row! {
        struct Due {
            id: String,
        }
    }
    let due: Vec<Due> = db
        .all(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at LIMIT ?",
            args![now, limit],
        )
        .await?;
    Ok(due.into_iter().map(|d| d.id).collect())
}

row! {
    #[derive(Debug)]
    pub struct Unsent {
        pub to_email: String,
        pub subject: String,
        pub body: String,
        pub attempts: i64,
    }
}

/// A message still waiting to be sent.
pub async fn unsent(db: &Db, id: &str) -> Result<Option<Unsent>> {
    db.first(
        "SELECT to_email, subject, body, attempts FROM outbox WHERE id = ? AND sent_at IS NULL AND next_attempt_at IS NOT NULL",
        args![id],
    )
    .await
}

/// Sent: the body goes.
pub async fn sent(db: &Db, id: &str, provider_id: Option<&str>, now: i64) -> Result<()> {
    db.run(
        "UPDATE outbox SET sent_at = ?, body = '', attempts = attempts + 1, next_attempt_at = NULL,
           last_error = NULL, provider_id = ? WHERE id = ? AND sent_at IS NULL",
        args![now, provider_id, id],
    )
    .await?;
    Ok(())
}

/// A failed attempt: retried at `next`, or given up (`None`: the body goes).
pub async fn failed(db: &Db, id: &str, why: &str, next: Option<i64>) -> Result<()> {
    db.run(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
           body = CASE WHEN ? IS NULL THEN '' ELSE body END WHERE id = ? AND sent_at IS NULL",
        args![next, why, next, id],
    )
    .await?;
    Ok(())
}
