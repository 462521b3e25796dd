//! A team's members (users). The last-owner rule is re-checked inside the writes themselves, so
//! two concurrent demotions cannot both succeed.

use serde::Serialize;
use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;
use crate::domain::role::Role;

row! {
    #[derive(Debug, Clone, Serialize)]
    pub struct Member {
        pub id: UserId,
        pub email: String,
        pub name: String,
        pub role: Role,
        pub joined_at: i64,
        pub last_active_at: Option<i64>,
    }
}

const COLUMNS: &str = "id, email, name, role, created_at AS joined_at, last_active_at";

/// Holds when the member `?` is not the team's only owner.
const NOT_LAST_OWNER: &str =
    "(role != 'owner' OR (SELECT COUNT(*) FROM users o WHERE o.team_id = users.team_id AND o.role = 'owner') > 1)";

pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

pub fn insert(team: &Team, user: &NewUser, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at, last_active_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        args![user.id, team.id, user.email, user.name, user.role, user.password_hash, now, now],
    )
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<Member>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE team_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
    );
    team.db
        .all(&sql, args![team.id, page.before.as_deref(), page.limit + 1])
        .await
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<Member>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE team_id = ? AND id = ?");
    team.db.first(&sql, args![team.id, id]).await
}

pub async fn owner_count(team: &Team<'_>) -> Result<u32> {
    row! {
        struct Count {
            n: u32,
        }
    }
    let row: Option<Count> = team
        .db
        .first(
            "SELECT COUNT(*) AS n FROM users WHERE team_id = ? AND role = 'owner'",
            args![team.id],
        )
        .await?;
    Ok(row.map_or(0, |c| c.n))
}

/// What a role change or removal was decided on, re-checked by the write itself: the member still
/// holds `current`, and the actor still holds a role allowing `actor_needs`. A change made
/// meanwhile (the member promoted, the actor demoted) makes the write change nothing.
pub struct Decided<'a> {
    pub current: Role,
    pub actor: &'a UserId,
    pub actor_needs: Role,
}

impl Decided<'_> {
    /// `role = ? AND <the actor still qualifies>`, with its three binds (team, actor, current).
    fn guard(&self) -> String {
        let allowed: Vec<String> = Role::ALL
            .iter()
            .filter(|r| r.allows(self.actor_needs))
            .map(|r| format!("'{}'", r.as_str()))
            .collect();
        format!(
            "role = ? AND (SELECT a.role FROM users a WHERE a.team_id = ? AND a.id = ?) IN ({})",
            allowed.join(", ")
        )
    }
}

/// Changes a role unless that would leave the team without an owner or the decision no longer
/// holds ([`Decided`]); the change count says whether it happened.
pub fn set_role(team: &Team, id: &str, role: Role, d: &Decided) -> Result<D1PreparedStatement> {
    let sql = format!(
        "UPDATE users SET role = ? WHERE team_id = ? AND id = ? AND (? = 'owner' OR {NOT_LAST_OWNER}) AND {}",
        d.guard()
    );
    team.db.stmt(
        &sql,
        args![role, team.id, id, role, d.current, team.id, d.actor],
    )
}

/// Removes a member unless they are the last owner or the decision no longer holds; their
/// sessions and tokens cascade.
pub fn remove(team: &Team, id: &str, d: &Decided) -> Result<D1PreparedStatement> {
    let sql = format!(
        "DELETE FROM users WHERE team_id = ? AND id = ? AND {NOT_LAST_OWNER} AND {}",
        d.guard()
    );
    team.db
        .stmt(&sql, args![team.id, id, d.current, team.id, d.actor])
}
