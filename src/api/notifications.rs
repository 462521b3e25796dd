//! A member's notifications: the feed with filters, unread count, read/unread/hide, mark all
//! read, preferences, and a live stream of new ones with the unread count.

use serde_json::{json, Value};
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Caller, Ctx, BODY_LIMIT};
use super::respond;
use super::sse;
use crate::domain::fields::Fields;
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::notify::CATEGORIES;
use crate::store::notifications::{self, Filter, Mark, Row};
use crate::store::Db;

fn category_error() -> String {
    format!("must be one of {}", CATEGORIES.join(", "))
}

/// GET /api/notifications?unread=&category=
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let unread = match cx.query("unread").filter(|v| !v.is_empty()) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::field("unread", "must be true or false")),
    };
    let category = match cx.query("category").filter(|v| !v.is_empty()) {
        None => None,
        Some(c) if CATEGORIES.contains(&c) => Some(c.to_string()),
        Some(_) => return Err(ApiError::field("category", category_error())),
    };
    let rows = notifications::list(
        &caller.team(&cx.db),
        &caller.user_id,
        &Filter { unread, category },
        &page,
    )
    .await?;
    let (rows, next) = paginate(rows, &page, |n| n.id.clone());
    let data: Vec<Value> = rows.iter().map(Row::to_json).collect();
    Ok(respond::page(&data, next))
}

/// GET /api/notifications/unread-count
pub async fn unread_count(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let count = notifications::unread_count(&caller.team(&cx.db), &caller.user_id).await?;
    Ok(respond::ok(&json!({"count": count})))
}

async fn mark_one(cx: &Ctx, caller: &Caller, raw_id: &str, mark: Mark) -> ApiResult<Option<Row>> {
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    notifications::get(&team, &caller.user_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    notifications::mark(&team, &caller.user_id, Some(&id), mark, cx.now).await?;
    Ok(notifications::get(&team, &caller.user_id, &id).await?)
}

/// POST /api/notifications/:id/read
pub async fn read(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let row = mark_one(cx, &caller, raw_id, Mark::Read)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&row.to_json()))
}

/// POST /api/notifications/:id/unread
pub async fn unread(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let row = mark_one(cx, &caller, raw_id, Mark::Unread)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&row.to_json()))
}

/// DELETE /api/notifications/:id — hides it for the caller only.
pub async fn hide(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    mark_one(cx, &caller, raw_id, Mark::Hidden).await?;
    Ok(respond::no_content())
}

/// POST /api/notifications/mark-all-read — `{count}` marked, for the caller only.
pub async fn mark_all_read(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let count = notifications::mark(
        &caller.team(&cx.db),
        &caller.user_id,
        None,
        Mark::Read,
        cx.now,
    )
    .await?;
    Ok(respond::ok(&json!({"count": count})))
}

fn preferences_json(p: &notifications::Preferences) -> Value {
    let muted: Vec<String> = serde_json::from_str(&p.muted).unwrap_or_default();
    let categories: Vec<&str> = CATEGORIES
        .iter()
        .copied()
        .filter(|c| !muted.iter().any(|m| m == c))
        .collect();
    json!({"categories": categories, "notify_success": p.notify_success == 1})
}

/// GET /api/notifications/preferences — the categories the caller receives, and whether
/// succeeded runs notify them.
pub async fn get_preferences(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let prefs = notifications::preferences(&caller.team(&cx.db), &caller.user_id).await?;
    Ok(respond::ok(&preferences_json(&prefs)))
}

/// PUT /api/notifications/preferences {categories, notify_success}
pub async fn put_preferences(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let categories = match f.value("categories") {
        Some(Value::Array(items)) => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if names.len() != items.len() || names.iter().any(|n| !CATEGORIES.contains(n)) {
                f.error(
                    "categories",
                    format!("must be a list of {}", CATEGORIES.join(", ")),
                );
                None
            } else {
                Some(names.into_iter().map(str::to_string).collect::<Vec<_>>())
            }
        }
        Some(_) => {
            f.error("categories", "must be a list");
            None
        }
        None => {
            f.error("categories", "is required");
            None
        }
    };
    let notify_success = match f.value("notify_success") {
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            f.error("notify_success", "must be true or false");
            None
        }
        None => {
            f.error("notify_success", "is required");
            None
        }
    };
    let (categories, notify_success) = f.finish((categories, notify_success))?;
    let muted: Vec<&str> = CATEGORIES
        .iter()
        .copied()
        .filter(|c| !categories.iter().any(|k| k == c))
        .collect();
    let team = caller.team(&cx.db);
    notifications::set_preferences(
        &team,
        &caller.user_id,
        &json!(muted).to_string(),
        notify_success,
        cx.now,
    )
    .await?;
    let prefs = notifications::preferences(&team, &caller.user_id).await?;
    Ok(respond::ok(&preferences_json(&prefs)))
}

/// GET /api/notifications/stream — `event: notification` (the object, `id:` its id) and
/// `event: unread_count` (`{count}`); resumes after `Last-Event-ID`, with a heartbeat.
pub async fn stream(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let team = caller.team(&cx.db);
    let resume = cx
        .last_event_id()
        .and_then(|v| crate::domain::ids::parse_uuid(&v));
    let last = match resume {
        Some(id) => id,
        None => notifications::newest_id(&team, &caller.user_id).await?,
    };
    let count = notifications::unread_count(&team, &caller.user_id).await?;
    let greeting = sse::event(None, "unread_count", &json!({"count": count}));
    let cursor = (caller.user_id.clone(), last);
    sse::polled(
        cx,
        &caller,
        greeting,
        cursor,
        1_500,
        |env, team, (user_id, last)| async move {
            let db = Db::new(&env)?;
            let team = team.scope(&db);
            let rows = notifications::newer_than(&team, &user_id, &last, 50).await?;
            let Some(newest) = rows.last().map(|r| r.id.clone()) else {
                return Ok((String::new(), (user_id, last)));
            };
            let mut chunk: String = rows
                .iter()
                .map(|r| sse::event(Some(&r.id), "notification", &r.to_json()))
                .collect();
            let count = notifications::unread_count(&team, &user_id).await?;
            chunk.push_str(&sse::event(None, "unread_count", &json!({"count": count})));
            Ok((chunk, (user_id, newest)))
        },
    )
    .await
}
