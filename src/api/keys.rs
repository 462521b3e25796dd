//! Provider keys: admins add, rotate, test and delete them; anyone on the team sees their
//! metadata. The secret goes in once and never comes back out.

use crate::platform::allow_private_upstreams;
use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Caller, Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::fields::Fields;
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::domain::service::Service;
use crate::domain::upstream::parse_base_url;
use crate::domain::vault::{last4, parse_secret, MasterKeys};
use crate::notify::{self, Note};
use crate::platform::new_id;
use crate::providers::{probe_models, Verdict};
use crate::store::activity::Event;
use crate::store::changes;
use crate::store::keys::{self, NewKey};
use crate::vault::{self, VaultError};

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> ApiError {
        match e {
            VaultError::Unreadable => ApiError::conflict(
                "key_unreadable",
                "This key's secret can no longer be decrypted; rotate it to store it again.",
            ),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn master_keys(cx: &Ctx) -> ApiResult<MasterKeys> {
    Ok(vault::master_keys(&cx.env)?)
}

/// Tells the rest of the team what the caller did to a key.
async fn tell(cx: &Ctx, caller: &Caller, kind: &'static str, title: String) {
    let note = Note {
        category: "system",
        kind,
        message: format!("{title} (by {}).", caller.name),
        title,
        link: Some("/keys".into()),
    };
    notify::raise(&caller.team(&cx.db), Some(&caller.user_id), note).await;
}

/// The key as it is now, after a change the team is told about ("Provider key NAME `done`").
async fn read_and_tell(
    cx: &Ctx,
    caller: &Caller,
    id: &str,
    kind: &'static str,
    done: &str,
) -> ApiResult<keys::KeyView> {
    let key = keys::get(&caller.team(&cx.db), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tell(
        cx,
        caller,
        kind,
        format!("Provider key {} {done}", key.name),
    )
    .await;
    Ok(key)
}

/// GET /api/keys
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let rows = keys::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |k| k.id.clone());
    Ok(respond::page(&rows, next))
}

/// GET /api/keys/:id
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let key = keys::get(&caller.team(&cx.db), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&key))
}

/// POST /api/keys {name, service, key, base_url?}
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let name = f.text("name", 100);
    let service = f.parsed("service", Service::parse);
    let secret = f.parsed("key", parse_secret);
    let base_url = f.optional_text("base_url", 2048);
    let base_url = match (service, base_url) {
        (_, Some(raw)) => parse_base_url(&raw, allow_private_upstreams(&cx.env))
            .map_err(|m| f.error("base_url", m))
            .ok(),
        (Some(s), None) => {
            let default = s.default_base_url();
            if default.is_none() {
                f.error("base_url", "is required for openai_compatible");
            }
            default.map(str::to_string)
        }
        (None, None) => None,
    };
    let (name, service, secret, base_url) = f.finish((name, service, secret, base_url))?;

    let master = master_keys(cx)?;
    let id = new_id()?;
    let team = caller.team(&cx.db);
    let sealed = vault::seal(&master, team.id().as_str(), &id, &secret).await?;
    let shown = last4(&secret);
    drop(secret);
    let new = NewKey {
        id: &id,
        name: &name,
        service: service.as_str(),
        base_url: &base_url,
        last4: &shown,
        secret: &sealed,
        master_key_id: master.active_id(),
    };
    let event = Event {
        action: "key.created",
        target_type: "provider_key",
        target_id: Some(&id),
        detail: json!({"name": name, "service": service.as_str()}),
    };
    audit::commit(
        cx,
        &caller,
        vec![keys::insert(&team, &new, cx.now)?],
        event,
        Logged::Always,
    )
    .await?;
    let key = read_and_tell(cx, &caller, &id, "key.added", "added").await?;
    Ok(respond::created(&key))
}

/// DELETE /api/keys/:id — the secret is destroyed; the row stays for usage history.
pub async fn delete(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let name = keys::get(&team, &id).await?.ok_or(ApiError::NotFound)?.name;
    let event = Event {
        action: "key.deleted",
        target_type: "provider_key",
        target_id: Some(&id),
        detail: json!({}),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![keys::delete(&team, &id, cx.now)?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    tell(
        cx,
        &caller,
        "key.deleted",
        format!("Provider key {name} deleted"),
    )
    .await;
    Ok(respond::no_content())
}

/// POST /api/keys/:id/rotate {key} — a new secret under the same id and history.
pub async fn rotate(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let secret = f.parsed("key", parse_secret);
    let (secret,) = f.finish((secret,))?;
    let team = caller.team(&cx.db);
    keys::get(&team, &id).await?.ok_or(ApiError::NotFound)?;

    let master = master_keys(cx)?;
    let sealed = vault::seal(&master, team.id().as_str(), &id, &secret).await?;
    let shown = last4(&secret);
    drop(secret);
    let event = Event {
        action: "key.rotated",
        target_type: "provider_key",
        target_id: Some(&id),
        detail: json!({}),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![keys::rotate(
            &team,
            &id,
            &sealed,
            master.active_id(),
            &shown,
            cx.now,
        )?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    let key = read_and_tell(cx, &caller, &id, "key.rotated", "rotated").await?;
    Ok(respond::ok(&key))
}

/// POST /api/keys/:id/test — asks the provider's models endpoint whether the key works.
pub async fn test(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let stored = keys::sealed(&team, &id).await?.ok_or(ApiError::NotFound)?;
    let service = stored.service;
    let master = master_keys(cx)?;
    let secret = vault::open(&master, team.id().as_str(), &id, &stored.secret).await?;
    let probe = probe_models(
        service,
        &stored.base_url,
        &secret,
        allow_private_upstreams(&cx.env),
    )
    .await;
    drop(secret);

    let (valid, new_status, message) = match &probe.verdict {
        Verdict::Valid => (
            true,
            Some("valid"),
            "The provider accepted the key.".to_string(),
        ),
        Verdict::Invalid => (
            false,
            Some("invalid"),
            "The provider refused the key.".to_string(),
        ),
        Verdict::Unknown(why) => (false, None, why.clone()),
    };
    let event = Event {
        action: "key.tested",
        target_type: "provider_key",
        target_id: Some(&id),
        detail: json!({"valid": valid, "http_status": probe.http_status}),
    };
    let change = match new_status {
        Some(status) => vec![keys::set_status(&team, &id, status, cx.now)?],
        None => Vec::new(),
    };
    audit::commit(cx, &caller, change, event, Logged::Always).await?;
    let key = keys::get(&team, &id).await?.ok_or(ApiError::NotFound)?;
    if matches!(probe.verdict, Verdict::Invalid) {
        tell(
            cx,
            &caller,
            "key.test_failed",
            format!("Provider key {} failed its test", key.name),
        )
        .await;
    }
    Ok(respond::ok(&json!({
        "valid": valid,
        "status": key.status,
        "http_status": probe.http_status,
        "latency_ms": probe.latency_ms,
        "message": message,
    })))
}
