//! The team's data lifecycle: how long its raw rows are kept, erasing one end user's or
//! session's data, and how much it stores.

use serde_json::json;
use worker::Response;

use super::audit::{self, Logged};
use super::error::ApiResult;
use super::extract::{Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::lifecycle::{Retention, Subject};
use crate::domain::role::Role;
use crate::store::activity::Event;
use crate::store::lifecycle::{self, COUNT_CAP};

/// GET /api/team/retention
pub async fn get(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let retention = lifecycle::get(&caller.team(&cx.db)).await?;
    Ok(respond::ok(&retention.unwrap_or_default()))
}

/// PUT /api/team/retention {events_days, traces_days, executions_days}
pub async fn put(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Owner).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let retention = Retention::parse(&body)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "team.retention_changed",
        target_type: "team",
        target_id: Some(team.id().as_str()),
        detail: json!(retention),
    };
    let change = vec![lifecycle::set(&team, &retention)?];
    audit::commit(cx, &caller, change, event, Logged::Always).await?;
    Ok(respond::ok(&retention))
}

/// POST /api/team/erase {user_id?, session_id?} — the activity log records who asked and whether
/// a user or a session was erased, never which.
pub async fn erase(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Owner).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let subject = Subject::parse(&body)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "team.data_erased",
        target_type: "team",
        target_id: Some(team.id().as_str()),
        detail: json!({"subject": subject.kind()}),
    };
    let change = lifecycle::erase_statements(&team, &subject)?;
    let results = audit::commit(cx, &caller, change, event, Logged::Always).await?;
    Ok(respond::ok(&lifecycle::erased(&results)?))
}

/// GET /api/team/storage — rows per table (each counted up to `capped_at`) and the database's
/// size where D1 reports it.
pub async fn storage(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let (rows, size) = lifecycle::stored(&caller.team(&cx.db)).await?;
    Ok(respond::ok(&json!({
        "rows": rows,
        "capped_at": COUNT_CAP,
        "database_bytes": size,
    })))
}
