//! Provider keys as the engine uses them: opened from the vault for one call, and counted.

use crate::domain::service::Service;
use crate::domain::vault::MasterKeys;
use crate::store::{keys, Team};
use crate::vault::{open, Secret, VaultError};

/// A provider key opened for one call.
pub struct KeyForCall {
    pub service: Service,
    pub base_url: String,
    pub secret: Secret,
}

#[derive(Debug)]
pub enum UseKeyError {
    /// Deleted, or never the team's.
    Missing,
    Vault(VaultError),
    Store(worker::Error),
}

/// For the execution engine: the decrypted key for one provider call, counted as a use
/// (`usage_count`, `last_used_at`). The plaintext lives only in the returned [`Secret`], which
/// the caller drops when the call is made.
pub async fn use_key(
    team: &Team<'_>,
    master: &MasterKeys,
    key_id: &str,
    now: i64,
) -> Result<KeyForCall, UseKeyError> {
    let stored = keys::sealed(team, key_id)
        .await
        .map_err(UseKeyError::Store)?
        .ok_or(UseKeyError::Missing)?;
    let key = open_sealed(team, master, stored)
        .await
        .map_err(UseKeyError::Vault)?;
    keys::record_use(team, key_id, now)
        .await
        .map_err(UseKeyError::Store)?;
    Ok(key)
}

/// A key read from the store, opened for one call (not counted: the caller counts it).
pub async fn open_sealed(
    team: &Team<'_>,
    master: &MasterKeys,
    stored: keys::Sealed,
) -> Result<KeyForCall, VaultError> {
    let secret = open(master, team.id().as_str(), &stored.id, &stored.secret).await?;
    Ok(KeyForCall {
        service: stored.service,
        base_url: stored.base_url,
        secret,
    })
}
