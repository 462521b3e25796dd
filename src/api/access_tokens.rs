//! Access tokens: bearer credentials for programs (SDKs, CI), shown once, stored as a hash,
//! never more powerful than the member who created them.

use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{authorize, path_id, Ctx, BODY_LIMIT};
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

/// POST /api/access-tokens {name, role} — the token appears in this response only.
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let name = f.text("name", 100);
    let role = f.parsed("role", Role::parse_field);
    let (name, role) = f.finish((name, role))?;
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
    })))
}

/// DELETE /api/access-tokens/:id — by its creator, or by an admin.
pub async fn delete(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
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
