//! The team row itself.

use serde::Serialize;
use worker::{D1PreparedStatement, Result};

use super::{row, Team};
use crate::args;
use crate::domain::ids::TeamId;

row! {
    #[derive(Debug, Serialize)]
    pub struct TeamRow {
        pub id: TeamId,
        pub name: String,
        pub created_at: i64,
    }
}

/// The team a sign-up creates.
pub fn insert(team: &Team, name: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)",
        args![team.id, name, now],
    )
}

pub async fn get(team: &Team<'_>) -> Result<Option<TeamRow>> {
    team.db
        .first(
            "SELECT id, name, created_at FROM teams WHERE id = ?",
            args![team.id],
        )
        .await
}

pub fn rename(team: &Team, name: &str) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE teams SET name = ? WHERE id = ?",
        args![name, team.id],
    )
}
