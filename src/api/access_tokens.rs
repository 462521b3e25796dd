//! Access tokens: bearer credentials for programs (SDKs, CI), shown once, stored as a hash,
//! never more powerful than the member who created them, made and revoked only from a session,
//! optionally expiring.

use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{authorize, path_id, Caller, Ctx, Via, BODY_LIMIT};
use super::respond;
use crate::domain::fields::Fields;
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::domain::rules;
use crate::platform::{new_id, new_secret, sha256_hex};
use crate::store::activity::Event;
use crate::store::tokens::{self, NewToken};

/// GET /api/access-tokens
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let page = cx.page()?;
    let rows = tokens::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |t| t.id.clone());
    Ok(respond::page(&rows, next))
}

/// Tokens are made and revoked only by a person signed in: a token that could mint tokens would
/// outlive its own revocation through the ones it made.
fn from_a_session(caller: &Caller) -> ApiResult<()> {
    match caller.via {
        Via::Session { .. } => Ok(()),
        Via::Token { .. } => Err(ApiError::Forbidden(
            "Access tokens are created and revoked from a signed-in session, not with a token."
                .into(),
        )),
    }
}

/// POST /api/access-tokens {name, role, expires_in_days?} — the token appears in this response
/// only.
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    from_a_session(&caller)?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let name = f.text("name", 100);
    let role = f.parsed("role", Role::parse_field);
    let days = f.optional_integer("expires_in_days", 1, 365);
    let (name, role, days) = f.finish((name, role, days))?;
    let expires_at = days.map(|d| cx.now + d * 86_400_000);
    if !rules::may_issue_token(caller.role, role) {
        return Err(ApiError::Forbidden(format!(
            "A token's role cannot exceed yours ({}).",
            caller.role
        )));
    }
    let id = new_id()?;
    let token = new_secret("bt")?;
    let token_hash = sha256_hex(&token).await?;
    let team = caller.team(&cx.db);
    let new = NewToken {
        id: &id,
        user_id: &caller.user_id,
        name: &name,
        role,
        token_hash: &token_hash,
        expires_at,
    };
    let event = Event {
        action: "access_token.created",
        target_type: "access_token",
        target_id: Some(&id),
        detail: json!({"name": name, "role": role.as_str()}),
    };
    audit::commit(
        cx,
        &caller,
        vec![tokens::insert(&team, &new, cx.now)?],
        event,
        Logged::Always,
    )
    .await?;
    Ok(respond::created(&json!({
        "id": id,
        "name": name,
        "role": role.as_str(),
        "token": token,
        "created_at": cx.now,
        "expires_at": expires_at,
        "last_used_at": null,
    })))
}

/// DELETE /api/access-tokens/:id — by its creator, or by an admin.
pub async fn delete(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    from_a_session(&caller)?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let token = tokens::get(&team, &id).await?.ok_or(ApiError::NotFound)?;
    if token.user_id != caller.user_id {
        authorize(&caller, Role::Admin)?;
    }
    let event = Event {
        action: "access_token.deleted",
        target_type: "access_token",
        target_id: Some(&id),
        detail: json!({"name": token.name}),
    };
    let results = audit::commit(
        cx,
        &caller,
        vec![tokens::delete(&team, &id)?],
        event,
        Logged::IfChanged,
    )
    .await?;
    if crate::store::changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(respond::no_content())
}
