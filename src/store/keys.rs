//! Provider keys as stored: metadata for lists, the sealed secret only for the vault.

use serde::Serialize;
use worker::{D1PreparedStatement, Result};

use super::{row, Db, Team};
use crate::args;
use crate::domain::ids::TeamId;
use crate::domain::paging::Page;
use crate::domain::service::Service;

row! {
    /// What anyone on the team may see of a key. Never the secret.
    #[derive(Debug, Serialize)]
    pub struct KeyView {
        pub id: String,
        pub name: String,
        pub service: String,
        pub base_url: String,
        pub last4: String,
        pub status: String,
        pub usage_count: i64,
        pub last_used_at: Option<i64>,
        pub created_at: i64,
        pub rotated_at: Option<i64>,
    }
}

const VIEW: &str =
    "id, name, service, base_url, last4, status, usage_count, last_used_at, created_at, rotated_at";

pub struct NewKey<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub service: &'a str,
    pub base_url: &'a str,
    pub last4: &'a str,
    pub secret: &'a str,
    pub master_key_id: &'a str,
}

pub fn insert(team: &Team, key: &NewKey, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "INSERT INTO provider_keys (id, team_id, name, service, base_url, last4, secret, master_key_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args![key.id, team.id, key.name, key.service, key.base_url, key.last4, key.secret, key.master_key_id, now],
    )
}

pub async fn list(team: &Team<'_>, page: &Page) -> Result<Vec<KeyView>> {
    let sql = format!(
        "SELECT {VIEW} FROM provider_keys WHERE team_id = ?1 AND deleted_at IS NULL AND (?2 IS NULL OR id < ?2)
         ORDER BY id DESC LIMIT ?3"
    );
    team.db
        .all(&sql, args![team.id, page.before.as_deref(), page.limit + 1])
        .await
}

pub async fn get(team: &Team<'_>, id: &str) -> Result<Option<KeyView>> {
    let sql = format!(
        "SELECT {VIEW} FROM provider_keys WHERE team_id = ? AND id = ? AND deleted_at IS NULL"
    );
    team.db.first(&sql, args![team.id, id]).await
}

row! {
    /// The sealed secret and where to use it.
    #[derive(Debug)]
    pub struct Sealed {
        pub id: String,
        pub service: Service,
        pub base_url: String,
        pub secret: String,
    }
}

pub async fn sealed(team: &Team<'_>, id: &str) -> Result<Option<Sealed>> {
    team.db
        .first(
            "SELECT id, service, base_url, secret FROM provider_keys
             WHERE team_id = ? AND id = ? AND deleted_at IS NULL AND secret IS NOT NULL",
            args![team.id, id],
        )
        .await
}

/// The key a gateway call uses, as a statement to read in a batch: `id` when given (any of the
/// team's keys, whatever its service: the caller checks), else the most recently added `valid`
/// or `untested` key of one of `services` (a JSON array).
pub fn for_gateway(team: &Team, id: Option<&str>, services: &str) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "SELECT id, service, base_url, secret FROM provider_keys
         WHERE team_id = ?1 AND deleted_at IS NULL AND secret IS NOT NULL
           AND (id = ?2 OR (?2 IS NULL AND status IN ('valid', 'untested')
                            AND service IN (SELECT value FROM json_each(?3))))
         ORDER BY created_at DESC, id DESC LIMIT 1",
        args![team.id, id, services],
    )
}

/// A new secret for the same key: history stays, the status starts over.
pub fn rotate(
    team: &Team,
    id: &str,
    secret: &str,
    master_key_id: &str,
    last4: &str,
    now: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE provider_keys SET secret = ?, master_key_id = ?, last4 = ?, status = 'untested', rotated_at = ?
         WHERE team_id = ? AND id = ? AND deleted_at IS NULL",
        args![secret, master_key_id, last4, now, team.id, id],
    )
}

/// Deletes the secret for good; the row stays so usage history can still name the key.
pub fn delete(team: &Team, id: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE provider_keys SET deleted_at = ?, secret = NULL, master_key_id = NULL
         WHERE team_id = ? AND id = ? AND deleted_at IS NULL",
        args![now, team.id, id],
    )
}

pub fn set_status(team: &Team, id: &str, status: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE provider_keys SET status = ?, last_tested_at = ? WHERE team_id = ? AND id = ? AND deleted_at IS NULL",
        args![status, now, team.id, id],
    )
}

/// Counts one use of the key by the execution engine.
pub async fn record_use(team: &Team<'_>, id: &str, now: i64) -> Result<()> {
    team.db.batch(vec![use_stmt(team, id, now)?]).await?;
    Ok(())
}

/// [`record_use`] as a statement, to run in a batch with others (the gateway's settlement).
pub fn use_stmt(team: &Team, id: &str, now: i64) -> Result<D1PreparedStatement> {
    team.db.stmt(
        "UPDATE provider_keys SET usage_count = usage_count + 1, last_used_at = ? WHERE team_id = ? AND id = ?",
        args![now, team.id, id],
    )
}

row! {
    /// A secret sealed with a master key other than the active one, for the re-wrap task (which
    /// works across teams, as the deployment's housekeeping).
    #[derive(Debug)]
    pub struct Stale {
        pub id: String,
        pub team_id: TeamId,
        pub secret: String,
    }
}

pub async fn stale(db: &Db, active_master_key_id: &str, limit: u32) -> Result<Vec<Stale>> {
    db.all(
        "SELECT id, team_id, secret FROM provider_keys
         WHERE secret IS NOT NULL AND master_key_id != ? LIMIT ?",
        args![active_master_key_id, limit],
    )
    .await
}

/// Swaps in the re-wrapped secret unless the row changed meanwhile (rotated, deleted).
pub async fn rewrap(db: &Db, row: &Stale, secret: &str, master_key_id: &str) -> Result<usize> {
    db.run(
        "UPDATE provider_keys SET secret = ?, master_key_id = ? WHERE id = ? AND team_id = ? AND secret = ?",
        args![secret, master_key_id, &row.id, &row.team_id, &row.secret],
    )
    .await
}
