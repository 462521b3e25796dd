//! An http step's header values are secrets (bearer tokens for the team's own services): stored
//! sealed by the vault like provider keys — bound to the team and the workflow — opened only to
//! run the step, and shown to readers as `"<redacted>"` (`domain::workflow::redact_headers`).

use serde_json::{json, Value};
use worker::Env;

use crate::domain::fields::FieldError;
use crate::domain::workflow::{header_values, stored_header, REDACTED, SEALED_PREFIX};
use crate::vault::{self, VaultError};

/// Why a definition's header values could not be sealed.
pub enum SealError {
    /// A header sent as `"<redacted>"` with no stored value to keep.
    Invalid(Vec<FieldError>),
    Vault(VaultError),
}

/// Seals every header value of `steps` in place. A value sent back as `"<redacted>"` keeps the
/// value `current` (the stored definition being edited) holds for the same step and header.
pub async fn seal(
    env: &Env,
    team_id: &str,
    workflow_id: &str,
    steps: &mut Value,
    current: Option<&Value>,
) -> Result<(), SealError> {
    let values = header_values(steps);
    if values.is_empty() {
        return Ok(());
    }
    let master = vault::master_keys(env).map_err(SealError::Vault)?;
    let mut invalid = Vec::new();
    for (step_id, name, value) in values {
        let plain = value.as_str().unwrap_or_default().to_string();
        let kept = (plain == REDACTED)
            .then(|| current.and_then(|c| stored_header(c, &step_id, &name)))
            .flatten();
        let sealed = match kept {
            Some(stored) if stored.starts_with(SEALED_PREFIX) => stored.to_string(),
            // Stored before values were sealed: sealed now.
            Some(stored) => seal_one(&master, team_id, workflow_id, stored).await?,
            None if plain == REDACTED => {
                invalid.push(FieldError::new(
                    &format!("steps.{step_id}.headers.{name}"),
                    "is \"<redacted>\", which keeps a stored value, but this header has none",
                ));
                continue;
            }
            None => seal_one(&master, team_id, workflow_id, &plain).await?,
        };
        *value = json!(sealed);
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(SealError::Invalid(invalid))
    }
}

async fn seal_one(
    master: &crate::domain::vault::MasterKeys,
    team_id: &str,
    workflow_id: &str,
    plain: &str,
) -> Result<String, SealError> {
    let envelope = vault::seal(master, team_id, workflow_id, plain)
        .await
        .map_err(SealError::Vault)?;
    Ok(format!("{SEALED_PREFIX}{envelope}"))
}

/// Opens every sealed header value of a stored definition in place, to run it.
pub async fn open(
    env: &Env,
    team_id: &str,
    workflow_id: &str,
    steps: &mut Value,
) -> Result<(), VaultError> {
    let sealed: Vec<_> = header_values(steps)
        .into_iter()
        .filter(|(_, _, v)| v.as_str().is_some_and(|s| s.starts_with(SEALED_PREFIX)))
        .collect();
    if sealed.is_empty() {
        return Ok(());
    }
    let master = vault::master_keys(env)?;
    for (_, _, value) in sealed {
        let text = value.as_str().unwrap_or_default();
        let stored = text.strip_prefix(SEALED_PREFIX).unwrap_or(text);
        let plain = vault::open(&master, team_id, workflow_id, stored).await?;
        *value = json!(plain.expose());
    }
    Ok(())
}
