//! Access tokens for programs. Only the SHA-256 of a token is stored.

use serde::Serialize;
use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::ids::UserId;
use crate::domain::paging::Page;
use crate::domain::role::Role;

row! {
    #[derive(Debug, Serialize)]
    pub struct AccessToken {
        pub id: String,
        pub name: String,
        pub role: Role,
        pub user_id: UserId,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
        pub expires_at: Option<i64>,
    }
}

const COLUMNS: &str = "id, name, role, user_id, created_at, last_used_at, expires_at";

pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a UserId,
    pub name: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub expires_at: Option<i64>,
}

pub fn insert(team: &Team, token: &NewToken, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO access_tokens (id, team_id, user_id, name, role, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        args![token.id, team.id, token.user_id, token.name, token.role, token.token_hash, now, token.expires_at],
    )
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<AccessToken>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM access_tokens WHERE team_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
    );
    team.db
        .all(&sql, args![team.id, page.before.as_deref(), page.limit + 1])
        .await
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<AccessToken>> {
    let sql = format!("SELECT {COLUMNS} FROM access_tokens WHERE team_id = ? AND id = ?");
    team.db.first(&sql, args![team.id, id]).await
}

pub fn delete(team: &Team, id: &str) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "DELETE FROM access_tokens WHERE team_id = ? AND id = ?",
        args![team.id, id],
    )
}
