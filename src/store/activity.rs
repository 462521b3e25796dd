//! The team's audit log: who did what to what, and when.

use serde::Serialize;
use serde_json::Value;
use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;

/// Who did it; copied into the entry so it survives their removal.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
}

/// What happened, to which object.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub detail: Value,
}

/// The statement that records `event`, to run in the same batch as the change it describes.
pub fn record(
    team: &Team,
    id: &str,
    actor: Option<Actor>,
    event: Event,
    now: i64,
) -> Result<D1PreparedStatement> {
    insert(team, id, actor, event, now, "")
}

/// Like [`record`], but only if the statement just before it in the batch changed a row, so a
/// guarded write that did nothing leaves no entry.
pub fn record_if_changed(
    team: &Team,
    id: &str,
    actor: Option<Actor>,
    event: Event,
    now: i64,
) -> Result<D1PreparedStatement> {
    insert(team, id, actor, event, now, "WHERE changes() > 0")
}

fn insert(
    team: &Team,
    id: &str,
    actor: Option<Actor>,
    event: Event,
    now: i64,
    guard: &str,
) -> Result<D1PreparedStatement> {
    let sql = format!(
        "INSERT INTO activity (id, team_id, actor_id, actor_email, action, target_type, target_id, detail, created_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? {guard}"
    );
    team.db.stmt(
        &sql,
        args![
            id,
            team.id,
            actor.map(|a| a.id),
            actor.map(|a| a.email),
            event.action,
            event.target_type,
            event.target_id,
            event.detail.to_string(),
            now
        ],
    )
}

row! {
    #[derive(Debug)]
    struct Row {
        id: String,
        actor_id: Option<String>,
        actor_email: Option<String>,
        action: String,
        target_type: String,
        target_id: Option<String>,
        detail: Option<String>,
        created_at: i64,
    }
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub id: String,
    pub actor: Option<Value>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: Value,
    pub created_at: i64,
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<Entry>> {
    let rows: Vec<Row> = team
        .db
        .all(
            "SELECT id, actor_id, actor_email, action, target_type, target_id, detail, created_at FROM activity
             WHERE team_id = ? AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
            args![team.id, page.before.as_deref(), page.limit + 1],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            actor: r
                .actor_id
                .map(|id| serde_json::json!({"id": id, "email": r.actor_email})),
            detail: r
                .detail
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(Value::Null),
            id: r.id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            created_at: r.created_at,
        })
        .collect())
}
