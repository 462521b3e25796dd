//! Notifications as each member sees them. Visibility is one SQL fragment, [`VISIBLE`], used by
//! every query: the caller's team, created after they joined, not caused by them, not hidden by
//! them, in a category they have not muted, and successes only those since they asked for them.

use serde_json::{json, Value};
use worker::Result;

use super::{row, Team};
use crate::args;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;

/// `?1` = team id, `?2` = user id. Joins `notification_states s` for the caller.
const VISIBLE: &str = "FROM notifications n
     LEFT JOIN notification_states s ON s.user_id = ?2 AND s.notification_id = n.id
     WHERE n.team_id = ?1
       AND n.created_at >= (SELECT created_at FROM users WHERE id = ?2 AND team_id = ?1)
       AND (n.actor_id IS NULL OR n.actor_id != ?2)
       AND s.hidden_at IS NULL
       AND n.category NOT IN (SELECT value FROM json_each(COALESCE((SELECT muted FROM notification_preferences WHERE user_id = ?2), '[]')))
       AND (n.type != 'execution.succeeded'
            OR n.created_at >= (SELECT notify_success_since FROM notification_preferences WHERE user_id = ?2))";

row! {
    #[derive(Debug)]
    pub struct Row {
        pub id: String,
        pub category: String,
        /// The `type` column (read as `kind`).
        pub kind: String,
        pub title: String,
        pub message: String,
        pub link: Option<String>,
        pub created_at: i64,
        pub read: i64,
    }
}

impl Row {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "category": self.category, "type": self.kind, "title": self.title,
            "message": self.message, "link": self.link, "created_at": self.created_at, "read": self.read == 1,
        })
    }
}

const COLUMNS: &str =
    "n.id, n.category, n.type AS kind, n.title, n.message, n.link, n.created_at, (s.read_at IS NOT NULL) AS read";

pub struct NewNote<'a> {
    pub id: &'a str,
    pub category: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<&'a str>,
    pub actor_id: Option<&'a UserId>,
}

pub async fn insert(team: &Team<'_>, note: &NewNote<'_>, now: i64) -> Result<()> {
    team.db
        .run(
            "INSERT INTO notifications (id, team_id, category, type, title, message, link, actor_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            args![note.id, team.id, note.category, note.kind, note.title, note.message, note.link, note.actor_id, now],
        )
        .await?;
    Ok(())
}

/// The list's filters, validated.
pub struct Filter {
    pub unread: Option<bool>,
    pub category: Option<String>,
}

pub async fn list(
    team: &Team<'_>,
    user_id: &UserId,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Row>> {
    let sql = format!(
        "SELECT {COLUMNS} {VISIBLE}
           AND (?3 IS NULL OR n.id < ?3)
           AND (?4 IS NULL OR (s.read_at IS NULL) = ?4)
           AND (?5 IS NULL OR n.category = ?5)
         ORDER BY n.id DESC LIMIT ?6"
    );
    let unread = filter.unread.map(i64::from);
    team.db
        .all(
            &sql,
            args![
                team.id,
                user_id,
                page.before.as_deref(),
                unread,
                filter.category.as_deref(),
                page.limit + 1
            ],
        )
        .await
}

/// Visible notifications newer than `after_id` (ids are time-ordered), oldest first.
pub async fn newer_than(
    team: &Team<'_>,
    user_id: &UserId,
    after_id: &str,
    limit: u32,
) -> Result<Vec<Row>> {
    let sql = format!("SELECT {COLUMNS} {VISIBLE} AND n.id > ?3 ORDER BY n.id LIMIT ?4");
    team.db
        .all(&sql, args![team.id, user_id, after_id, limit])
        .await
}

pub async fn get(team: &Team<'_>, user_id: &UserId, id: &str) -> Result<Option<Row>> {
    let sql = format!("SELECT {COLUMNS} {VISIBLE} AND n.id = ?3");
    team.db.first(&sql, args![team.id, user_id, id]).await
}

pub async fn unread_count(team: &Team<'_>, user_id: &UserId) -> Result<i64> {
    row! {
        struct Count {
            count: i64,
        }
    }
    let sql = format!("SELECT COUNT(*) AS count {VISIBLE} AND s.read_at IS NULL");
    let row: Option<Count> = team.db.first(&sql, args![team.id, user_id]).await?;
    Ok(row.map_or(0, |c| c.count))
}

/// The newest id the caller can see (`""` when none), where a live stream starts.
pub async fn newest_id(team: &Team<'_>, user_id: &UserId) -> Result<String> {
    row! {
        struct Newest {
            id: Option<String>,
        }
    }
    let sql = format!("SELECT MAX(n.id) AS id {VISIBLE}");
    let row: Option<Newest> = team.db.first(&sql, args![team.id, user_id]).await?;
    Ok(row.and_then(|r| r.id).unwrap_or_default())
}

/// Sets the caller's read (or hidden) mark on visible notifications: one (`only`) or every
/// unread one. Answers how many it changed.
pub async fn mark(
    team: &Team<'_>,
    user_id: &UserId,
    only: Option<&str>,
    column: Mark,
    now: i64,
) -> Result<usize> {
    let (set, extra) = match column {
        Mark::Read => ("read_at", "AND s.read_at IS NULL"),
        Mark::Unread => ("read_at", ""),
        Mark::Hidden => ("hidden_at", ""),
    };
    let value = if matches!(column, Mark::Unread) {
        None
    } else {
        Some(now)
    };
    let sql = format!(
        "INSERT INTO notification_states (notification_id, user_id, {set})
         SELECT n.id, ?2, ?4 {VISIBLE} AND (?3 IS NULL OR n.id = ?3) {extra}
         ON CONFLICT (user_id, notification_id) DO UPDATE SET {set} = excluded.{set}"
    );
    team.db
        .run(&sql, args![team.id, user_id, only, value])
        .await
}

#[derive(Debug, Clone, Copy)]
pub enum Mark {
    Read,
    Unread,
    Hidden,
}

row! {
    #[derive(Debug)]
    pub struct Preferences {
        pub muted: String,
        pub notify_success: i64,
    }
}

pub async fn preferences(team: &Team<'_>, user_id: &UserId) -> Result<Preferences> {
    let row: Option<Preferences> = team
        .db
        .first("SELECT muted, notify_success FROM notification_preferences WHERE team_id = ? AND user_id = ?", args![team.id, user_id])
        .await?;
    Ok(row.unwrap_or(Preferences {
        muted: "[]".into(),
        notify_success: 0,
    }))
}

pub async fn set_preferences(
    team: &Team<'_>,
    user_id: &UserId,
    muted: &str,
    notify_success: bool,
    now: i64,
) -> Result<()> {
    team.db
        .run(
            "INSERT INTO notification_preferences (user_id, team_id, muted, notify_success, notify_success_since, updated_at)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 = 1 THEN ?5 END, ?5)
             ON CONFLICT (user_id) DO UPDATE SET muted = excluded.muted, notify_success = excluded.notify_success,
               notify_success_since = CASE WHEN excluded.notify_success = 1 THEN COALESCE(notify_success_since, excluded.notify_success_since) END,
               updated_at = excluded.updated_at",
            args![user_id, team.id, muted, i64::from(notify_success), now],
        )
        .await?;
    Ok(())
}
