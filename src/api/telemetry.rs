//! Telemetry in: events one at a time or in batches, and numeric metrics; metrics back out per
//! component.
//!
//! Sending needs the member role, whether the caller is a person's session or an access token
//! (the SDK case): a token's role is its ceiling, so a viewer token is read-only and gets 403.
//! A batch is one D1 transaction that stores the new events and folds them into the rollups.

use std::collections::HashSet;

use serde_json::{json, Value};
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{Ctx, BATCH_BODY_LIMIT, BODY_LIMIT};
use super::quota::{self, Kind};
use super::respond;
use crate::domain::paging::paginate;
use crate::domain::range::parse_instant;
use crate::domain::role::Role;
use crate::domain::telemetry::{
    batch_events, parse_event, parse_metric, parse_name, summarize, Event,
};
use crate::platform::new_id;
use crate::store::telemetry::{self, NewEvent};
use crate::store::Team;

/// Stores valid events under their own or a new id; answers how many were new. An id repeated
/// within `events` is stored once, as its first occurrence (the rest are duplicates).
async fn store(team: &Team<'_>, events: &[Event], now: i64) -> worker::Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let ids = events
        .iter()
        .map(|e| e.id.clone().map_or_else(new_id, Ok))
        .collect::<worker::Result<Vec<String>>>()?;
    let mut seen = HashSet::with_capacity(ids.len());
    let rows: Vec<NewEvent> = events
        .iter()
        .zip(&ids)
        .filter(|(_, id)| seen.insert(id.as_str()))
        .map(|(event, id)| NewEvent {
            id,
            event,
            ts: event.timestamp.unwrap_or(now),
        })
        .collect();
    telemetry::insert_events(team, &rows, now).await
}

/// POST /api/telemetry/track {component, action, properties?, timestamp?, session_id?, user_id?, id?}
///
/// 202 `{id, duplicate}`: `duplicate` when the team already has an event with this `id`.
pub async fn track(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require_sender(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    if !body.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let mut event = parse_event(&body, cx.now)?;
    let id = event.id.clone().map_or_else(new_id, Ok)?;
    event.id = Some(id.clone());
    let team = caller.team(&cx.db);
    let quota = quota::take_with_write(&cx.env, &team, Kind::TelemetryEvents, 1)?;
    let stored = quota::after_write(&cx.db, quota, store(&team, &[event], cx.now).await)?;
    Ok(respond::json(
        202,
        &json!({"id": id, "duplicate": stored == 0}),
    ))
}

/// POST /api/telemetry/batch {events: [...]}
///
/// 200 `{accepted, duplicates, rejected: [{index, error, details}]}`: every event is judged on
/// its own, so a bad one is reported by its 0-based index and never sinks the rest.
pub async fn batch(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require_sender(Role::Member).await?;
    let body = cx.json(BATCH_BODY_LIMIT).await?;
    let raw_events = batch_events(&body)?;
    let mut valid = Vec::with_capacity(raw_events.len());
    let mut rejected = Vec::new();
    for (index, raw) in raw_events.iter().enumerate() {
        match parse_event(raw, cx.now) {
            Ok(event) => valid.push(event),
            Err(errors) => rejected.push(json!({
                "index": index,
                "error": summarize(&errors),
                "details": errors,
            })),
        }
    }
    let team = caller.team(&cx.db);
    let quota = quota::take_with_write(&cx.env, &team, Kind::TelemetryEvents, valid.len() as i64)?;
    let accepted = quota::after_write(&cx.db, quota, store(&team, &valid, cx.now).await)?;
    Ok(respond::ok(&json!({
        "accepted": accepted,
        "duplicates": valid.len().saturating_sub(accepted),
        "rejected": rejected,
    })))
}

/// POST /api/telemetry/metrics {component, metric_name, value, metadata?} — 202 `{id}`.
pub async fn record_metric(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let metric = parse_metric(&body)?;
    let id = new_id()?;
    let team = caller.team(&cx.db);
    quota::take(&cx.env, &team, Kind::TelemetryEvents, 1).await?;
    telemetry::insert_metric(&team, &id, &metric, cx.now).await?;
    Ok(respond::json(202, &json!({ "id": id })))
}

/// GET /api/telemetry/metrics/:component?since= — the component's samples, newest first. A
/// component with no samples (or never seen) has an empty list.
pub async fn list_metrics(cx: &mut Ctx, raw_component: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let component = path_name(raw_component)?;
    let page = cx.page()?;
    let since = match cx.query("since").filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(parse_instant(raw).ok_or_else(|| {
            ApiError::field("since", "must be epoch milliseconds or an RFC 3339 time")
        })?),
    };
    let rows = telemetry::list_metrics(&caller.team(&cx.db), &component, since, &page).await?;
    let (rows, next) = paginate(rows, &page, |m| m.id.clone());
    let data: Vec<Value> = rows
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "component": m.component,
                "metric_name": m.metric_name,
                "value": m.value,
                "metadata": m.metadata.and_then(|t| serde_json::from_str::<Value>(&t).ok()),
                "created_at": m.created_at,
            })
        })
        .collect();
    Ok(respond::page(&data, next))
}

/// A component name from the path (percent-encoded); one that could not be a name is a 404.
fn path_name(raw: &str) -> ApiResult<String> {
    let decoded = js_sys::decode_uri_component(raw).map_err(|_| ApiError::NotFound)?;
    parse_name(&String::from(decoded)).map_err(|_| ApiError::NotFound)
}
