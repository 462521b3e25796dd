//! Who is calling: sessions, access tokens and login bookkeeping. These lookups run before the
//! caller's team is known, so they key on secrets' hashes and emails, never on a team.

use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team};
use crate::args;
use crate::domain::ids::{TeamId, UserId};
use crate::domain::role::Role;

pub const SESSION_TTL_MS: i64 = 30 * 86_400_000;

row! {
    /// A signed-in person or token, as read from D1 for one request.
    #[derive(Debug, Clone)]
    pub struct CallerRow {
        pub user_id: UserId,
        pub email: String,
        pub name: String,
        pub role: Role,
        pub team_id: TeamId,
        pub team_name: String,
        pub last_active_at: Option<i64>,
        /// Set when the caller is an access token: its id and role.
        pub token_id: Option<String>,
        pub token_role: Option<Role>,
        pub token_last_used_at: Option<i64>,
    }
}

const CALLER_COLUMNS: &str =
    "u.id AS user_id, u.email, u.name, u.role, u.team_id, t.name AS team_name, u.last_active_at";

/// Finds the caller of a live session (a [`CallerRow`], or no row); binds the hash and now.
fn session_sql() -> String {
    format!(
        "SELECT {CALLER_COLUMNS}, NULL AS token_id, NULL AS token_role, NULL AS token_last_used_at
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN teams t ON t.id = u.team_id
         WHERE s.token_hash = ? AND s.expires_at > ?"
    )
}

/// Finds the caller of an unexpired access token (a [`CallerRow`], or no row); binds the hash
/// and now.
fn token_sql() -> String {
    format!(
        "SELECT {CALLER_COLUMNS}, k.id AS token_id, k.role AS token_role, k.last_used_at AS token_last_used_at
         FROM access_tokens k JOIN users u ON u.id = k.user_id JOIN teams t ON t.id = u.team_id
         WHERE k.token_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)"
    )
}

/// The statement that finds the caller of a live session.
pub fn session_lookup(db: &Db, token_hash: &str, now: i64) -> Result<D1PreparedStatement> {
    db.stmt(&session_sql(), args![token_hash, now])
}

/// The statement that finds the caller of an unexpired access token.
pub fn token_lookup(db: &Db, token_hash: &str, now: i64) -> Result<D1PreparedStatement> {
    db.stmt(&token_sql(), args![token_hash, now])
}

/// A role's rank in SQL, lowest 0: the order of [`Role`].
fn rank(column: &str) -> String {
    format!(
        "CASE {column} WHEN 'viewer' THEN 0 WHEN 'member' THEN 1 WHEN 'admin' THEN 2 WHEN 'owner' THEN 3 END"
    )
}

/// The "must" statement of a write by a caller seen before (`Db::guard_write`): fails (the
/// `caller` check of `write_checks`) unless the session or token still names `user` of `team`
/// with at least `needed` — for a token, the lower of its role and its creator's.
pub fn still_allowed(
    db: &Db,
    token: bool,
    token_hash: &str,
    now: i64,
    user: &UserId,
    team: &TeamId,
    needed: Role,
) -> Result<D1PreparedStatement> {
    let lookup = if token { token_sql() } else { session_sql() };
    let sql = format!(
        "INSERT INTO write_checks (caller) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ({lookup}) c
         WHERE c.user_id = ? AND c.team_id = ? AND MIN({}, COALESCE({}, 3)) >= ?)",
        rank("c.role"),
        rank("c.token_role")
    );
    db.stmt(&sql, args![token_hash, now, user, team, needed as u32])
}

/// Runs a lookup made by [`session_lookup`] or [`token_lookup`] on its own.
pub async fn caller(db: &Db, lookup: D1PreparedStatement) -> Result<Option<CallerRow>> {
    db.first_of(lookup).await
}

/// The "last active" bookkeeping for one caller, detached from the request so it can run after
/// the response. Written at most once a minute per user and token, to keep reads free of writes.
pub struct Touch {
    user_id: Option<UserId>,
    token_id: Option<String>,
}

impl Touch {
    const EVERY_MS: i64 = 60_000;

    pub fn of(row: &CallerRow) -> Touch {
        let now = crate::platform::now_ms();
        let stale = |at: Option<i64>| at.is_none_or(|t| now - t > Self::EVERY_MS);
        Touch {
            user_id: stale(row.last_active_at).then(|| row.user_id.clone()),
            token_id: row
                .token_id
                .clone()
                .filter(|_| stale(row.token_last_used_at)),
        }
    }

    /// Whether there is anything to record (at most once a minute per user and token).
    pub fn is_due(&self) -> bool {
        self.user_id.is_some() || self.token_id.is_some()
    }

    pub async fn run(self, db: &Db, now: i64) -> Result<()> {
        if let Some(user_id) = self.user_id {
            db.run(
                "UPDATE users SET last_active_at = ? WHERE id = ?",
                args![now, user_id],
            )
            .await?;
        }
        if let Some(token_id) = self.token_id {
            db.run(
                "UPDATE access_tokens SET last_used_at = ? WHERE id = ?",
                args![now, token_id],
            )
            .await?;
        }
        Ok(())
    }
}

row! {
    #[derive(Debug)]
    pub struct LoginRow {
        pub id: UserId,
        pub email: String,
        pub name: String,
        pub role: Role,
        pub team_id: TeamId,
        pub team_name: String,
        pub password_hash: String,
    }
}

pub async fn login_row(db: &Db, email: &str) -> Result<Option<LoginRow>> {
    db.first(
        "SELECT u.id, u.email, u.name, u.role, u.team_id, t.name AS team_name, u.password_hash
         FROM users u JOIN teams t ON t.id = u.team_id WHERE u.email = ?",
        args![email],
    )
    .await
}

pub async fn email_registered(db: &Db, email: &str) -> Result<bool> {
    let row: Option<()> = db
        .first("SELECT 1 AS one FROM users WHERE email = ?", args![email])
        .await?;
    Ok(row.is_some())
}

/// When the oldest failure still counted against `email` was made.
pub async fn oldest_failure(db: &Db, email: &str, since: i64) -> Result<Option<i64>> {
    row! {
        struct Oldest {
            oldest: Option<i64>,
        }
    }
    let row: Option<Oldest> = db
        .first(
            "SELECT MIN(attempted_at) AS oldest FROM login_failures WHERE email = ? AND attempted_at > ?",
            args![email, since],
        )
        .await?;
    Ok(row.and_then(|r| r.oldest))
}

/// Records a login attempt for `email` if fewer than `max` are on record since `since`, in one
/// statement (SQLite runs it alone), so concurrent guesses cannot all pass the count: answers
/// whether the attempt may go on. The row stays as a failure unless the password is right
/// ([`clear_failures`]).
pub async fn claim_attempt(db: &Db, email: &str, now: i64, since: i64, max: i64) -> Result<bool> {
    let changed = db
        .run(
            "INSERT INTO login_failures (email, attempted_at) SELECT ?, ?
             WHERE (SELECT COUNT(*) FROM login_failures WHERE email = ? AND attempted_at > ?) < ?",
            args![email, now, email, since, max],
        )
        .await?;
    Ok(changed > 0)
}

pub fn clear_failures(db: &Db, email: &str) -> Result<D1PreparedStatement> {
    db.stmt("DELETE FROM login_failures WHERE email = ?", args![email])
}

pub fn insert_session(
    team: &Team,
    user_id: &UserId,
    token_hash: &str,
    now: i64,
) -> Result<D1PreparedStatement> {
    session_stmt(team, user_id, token_hash, now, "")
}

/// Like [`insert_session`], only if the statement before it in the batch changed a row.
pub fn insert_session_if_changed(
    team: &Team,
    user_id: &UserId,
    token_hash: &str,
    now: i64,
) -> Result<D1PreparedStatement> {
    session_stmt(team, user_id, token_hash, now, "WHERE changes() > 0")
}

fn session_stmt(
    team: &Team,
    user_id: &UserId,
    token_hash: &str,
    now: i64,
    guard: &str,
) -> Result<D1PreparedStatement> {
    let sql = format!("INSERT INTO sessions (token_hash, user_id, team_id, created_at, expires_at) SELECT ?, ?, ?, ?, ? {guard}");
    team.db.stmt(
        &sql,
        args![token_hash, user_id, team.id, now, now + SESSION_TTL_MS],
    )
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<()> {
    db.run(
        "DELETE FROM sessions WHERE token_hash = ?",
        args![token_hash],
    )
    .await?;
    Ok(())
}

/// Bounded housekeeping for the cron tick: expired sessions and old login failures.
pub async fn prune(db: &Db, now: i64, failure_window_ms: i64) -> Result<()> {
    db.batch(vec![
        db.stmt(
            "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT 500)",
            args![now],
        )?,
        db.stmt(
            "DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM login_failures WHERE attempted_at <= ? LIMIT 500)",
            args![now - failure_window_ms],
        )?,
    ])
    .await?;
    Ok(())
}
