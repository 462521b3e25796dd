//! Invitations. Only the SHA-256 of an invite's token is stored; accepting one is a single
//! transaction that marks it used and creates the member, so a token works exactly once.

use serde::Serialize;
use worker::{D1PreparedStatement, Result};

use super::members::NewUser;
use super::{row, Db, Team};
use crate::args;
use crate::domain::ids::{TeamId, UserId};
use crate::domain::paging::Page;
use crate::domain::role::Role;

pub const INVITE_TTL_MS: i64 = 7 * 86_400_000;

row! {
    #[derive(Debug, Serialize)]
    pub struct Invite {
        pub id: String,
        pub email: String,
        pub role: Role,
        pub created_at: i64,
        pub expires_at: i64,
    }
}

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: &'a UserId,
}

/// Inserting a new invite revokes any earlier pending one for the same email: the newest link
/// is the one that works.
pub fn insert(team: &Team, invite: &NewInvite, now: i64) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE invites SET revoked_at = ? WHERE team_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL",
            args![now, team.id, invite.email],
        )?,
        team.db.stmt(
            "INSERT INTO invites (id, team_id, email, role, token_hash, invited_by, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            args![invite.id, team.id, invite.email, invite.role, invite.token_hash, invite.invited_by, now, now + INVITE_TTL_MS],
        )?,
    ])
}

pub async fn list_pending(team: &Team<'_>, page: &Page, now: i64) -> Result<Vec<Invite>> {
    team.db
        .all(
            "SELECT id, email, role, created_at, expires_at FROM invites
             WHERE team_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?4
               AND (?2 IS NULL OR id < ?2)
             ORDER BY id DESC LIMIT ?3",
            args![team.id, page.before.as_deref(), page.limit + 1, now],
        )
        .await
}

/// Revokes a pending invite; zero changes means there was none with this id.
pub fn revoke(team: &Team, id: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE invites SET revoked_at = ? WHERE team_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL",
        args![now, team.id, id],
    )
}

row! {
    /// An invite found by its token, whatever its state; the caller decides 404 vs 410.
    #[derive(Debug)]
    pub struct ByToken {
        pub id: String,
        pub team_id: TeamId,
        pub email: String,
        pub role: Role,
        pub expires_at: i64,
        pub accepted_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }
}

pub async fn find_by_token(db: &Db, token_hash: &str) -> Result<Option<ByToken>> {
    db.first(
        "SELECT id, team_id, email, role, expires_at, accepted_at, revoked_at FROM invites WHERE token_hash = ?",
        args![token_hash],
    )
    .await
}

/// Marks the invite used and creates the member, guarded so only one acceptance can win; the
/// second statement's change count says whether this one did. `team` is the invite's.
pub fn accept(
    team: &Team,
    invite: &ByToken,
    user: &NewUser,
    now: i64,
) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE invites SET accepted_at = ? WHERE team_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            args![now, team.id, &invite.id, now],
        )?,
        team.db.stmt(
            "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at, last_active_at)
             SELECT ?, team_id, email, ?, role, ?, ?, ? FROM invites WHERE team_id = ? AND id = ? AND accepted_at = ? AND changes() > 0",
            args![user.id, user.name, user.password_hash, now, now, team.id, &invite.id, now],
        )?,
    ])
}
