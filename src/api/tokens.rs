//! Tokens and cost: usage totals with a zero-filled daily series and a month-end projection, the
//! breakdown by model, agent, workflow or key, the CSV export, and one key's usage. SQLite sums
//! and shapes them (`store::usage`). A cost sum covers the calls that have a price;
//! `unpriced_calls` counts those that do not, and `cost_known` is false while there are any.

use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx};
use super::respond;
use crate::domain::calendar::month_of;
use crate::domain::range::{range_label, DAY_MS};
use crate::domain::role::Role;
use crate::store::usage::{self, By, Projection};

const DEFAULT_RANGE: &str = "30d";
/// Calls per CSV export; a longer one is cut and says so in `x-truncated`.
const EXPORT_MAX_ROWS: u32 = 50_000;
pub const CSV_HEADER: &str = "created_at,execution_id,workflow_id,step_id,agent,key_id,provider,model,input,cache_read,cache_write,output,reasoning,cost_usd\n";

fn label(cx: &Ctx) -> &str {
    range_label(cx.query("range").filter(|r| !r.is_empty()))
}

/// GET /api/tokens/usage?range= — totals, the daily series and the month-end projection (this
/// month's known cost so far, extrapolated over the whole month).
pub async fn usage(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let range = cx.range(DEFAULT_RANGE)?;
    let month = month_of(cx.now);
    let projection = Projection {
        start: month.start,
        length: month.end - month.start,
        elapsed: (cx.now - month.start).max(DAY_MS),
        month: month.key,
    };
    let team = caller.team(&cx.db);
    let body = usage::summary_json(&team, &range, label(cx), None, Some(&projection)).await?;
    let body = body.ok_or_else(|| ApiError::Internal("usage: no row".into()))?;
    Ok(respond::raw_json(200, body))
}

/// GET /api/tokens/breakdown?by=model|agent|workflow|key&range= — dearest first.
pub async fn breakdown(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let by = match cx.query("by").filter(|b| !b.is_empty()) {
        None => By::Model,
        Some(raw) => By::parse(raw).ok_or_else(|| {
            ApiError::field("by", "must be one of model, agent, workflow, key, source")
        })?,
    };
    let range = cx.range(DEFAULT_RANGE)?;
    let body = usage::breakdown_json(&caller.team(&cx.db), &range, label(cx), by).await?;
    Ok(respond::raw_json(200, body))
}

/// GET /api/tokens/export.csv?range= — one row per LLM call, oldest first; an unknown cost is
/// an empty field.
pub async fn export_csv(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let range = cx.range(DEFAULT_RANGE)?;
    let rows = usage::export_csv(&caller.team(&cx.db), &range, EXPORT_MAX_ROWS).await?;
    let mut out = String::from(CSV_HEADER);
    if let Some(lines) = rows.body {
        out.push_str(&lines);
        out.push('\n');
    }
    let mut response = respond::csv(out, "beacon-usage.csv");
    if rows.n >= i64::from(EXPORT_MAX_ROWS) {
        let _ = response.headers_mut().set("x-truncated", "true");
    }
    Ok(response)
}

/// GET /api/keys/:id/usage?range= — one provider key's calls, tokens and cost, per day (a
/// deleted key keeps its history).
pub async fn key_usage(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let range = cx.range(DEFAULT_RANGE)?;
    let team = caller.team(&cx.db);
    let body = usage::summary_json(&team, &range, label(cx), Some(&id), None).await?;
    Ok(respond::raw_json(200, body.ok_or(ApiError::NotFound)?))
}
