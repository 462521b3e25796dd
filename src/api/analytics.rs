//! Analytics out: the summary of a period against the one before, components, trends and a CSV
//! export. Summary, components and trends read the rollups only (`store::analytics`), so they
//! cost the same however many events a team has; viewers and up may read them.
//!
//! Windows are whole UTC hours, the rollups' grain: `?range=7d` is the 7 × 24 hours ending with
//! the current hour, `?from=&to=` widen to the hours that hold them. Every answer echoes the
//! `from` and `to` it used.
//!
//! Every figure but distinct users is a sum over `team_hours`, kept by triggers as events, runs,
//! LLM calls and error occurrences are written: the success rate is succeeded over finished
//! (`null` when none finished), cost is the known cost of the period's calls (an unpriced call
//! adds nothing), errors count occurrences.

use std::collections::HashMap;

use futures_util::stream;
use serde_json::{json, Map, Value};
use worker::{Headers, Response, ResponseBuilder};

use super::error::{ApiError, ApiResult};
use super::extract::Ctx;
use super::respond;
use crate::domain::csv;
use crate::domain::fields::FieldError;
use crate::domain::paging::encode_cursor;
use crate::domain::pricing::usd;
use crate::domain::range::{TimeRange, DAY_MS};
use crate::domain::role::Role;
use crate::domain::rollup::{bucket_span, buckets, whole_hours, Interval, TrendMetric};
use crate::store::analytics::{self, ExportRow, Figures, Point};
use crate::store::{Db, OwnedTeam};

const DEFAULT_RANGE: &str = "7d";
/// Events per D1 read while streaming an export.
const EXPORT_PAGE: u32 = 1000;

/// The window asked for, as the whole UTC hours the rollups count in (see [`whole_hours`]).
fn window(cx: &Ctx) -> ApiResult<TimeRange> {
    let range = cx.range(DEFAULT_RANGE)?;
    Ok(aligned(cx, range))
}

fn aligned(cx: &Ctx, range: TimeRange) -> TimeRange {
    whole_hours(range, cx.range_label(DEFAULT_RANGE) != "custom")
}

/// One period of the summary: its bounds and every figure a source has for it.
fn period(range: TimeRange, telemetry: &Figures) -> Value {
    json!({
        "from": range.from,
        "to": range.to,
        "actions": telemetry.actions,
        "unique_users": telemetry.unique_users,
        "sessions": telemetry.sessions,
        "executions": telemetry.executions,
        "success_rate": (telemetry.finished > 0).then(|| telemetry.succeeded as f64 / telemetry.finished as f64),
        "tokens": telemetry.tokens,
        "cost_nusd": telemetry.cost_nusd,
        "cost_usd": usd(telemetry.cost_nusd),
        "errors": telemetry.errors,
    })
}

/// GET /api/analytics/summary?range= — `{range, current, previous}`; `previous` is the period of
/// the same length just before.
pub async fn summary(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let current = window(cx)?;
    let previous = current.previous();
    let (now, before) = analytics::summary(&caller.team(&cx.db), current, previous).await?;
    Ok(respond::ok(&json!({
        "range": cx.range_label(DEFAULT_RANGE),
        "current": period(current, &now),
        "previous": period(previous, &before),
    })))
}

/// GET /api/analytics/components?range= — every registered component (by name, paged) with
/// its actions, distinct users and metric averages in the window.
pub async fn components(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let range = window(cx)?;
    let page = cx.page()?;
    let after = match &page.before {
        Some(key) => Some(
            unhex(key)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API issued"))?,
        ),
        None => None,
    };
    let team = caller.team(&cx.db);
    let (mut rows, averages) =
        analytics::components(&team, range, after.as_deref(), page.limit + 1).await?;
    let next = (rows.len() > page.limit as usize).then(|| {
        rows.truncate(page.limit as usize);
        rows.last().map(|r| encode_cursor(&hex(&r.component)))
    });
    let mut metrics: HashMap<&str, Map<String, Value>> = HashMap::new();
    for m in &averages {
        metrics
            .entry(m.component.as_str())
            .or_default()
            .insert(m.name.clone(), json!(m.average));
    }
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "component": r.component,
                "actions": r.actions,
                "users": r.users,
                "metrics": metrics.remove(r.component.as_str()).unwrap_or_default(),
            })
        })
        .collect();
    Ok(respond::page(&data, next.flatten()))
}

/// GET /api/analytics/trends?metric=&range=&interval=hour|day — `{metric, interval, range,
/// buckets: [{ts, value}]}`: whole UTC buckets covering the window, zero-filled.
pub async fn trends(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let mut errors = Vec::new();
    let metric = TrendMetric::parse(cx.query("metric").unwrap_or("actions"))
        .map_err(|m| errors.push(FieldError::new("metric", m)))
        .ok();
    let interval = match cx.query("interval").filter(|i| !i.is_empty()) {
        Some(raw) => Interval::parse(raw)
            .map_err(|m| errors.push(FieldError::new("interval", m)))
            .ok(),
        None => None,
    };
    let range = match cx.range(DEFAULT_RANGE) {
        Ok(range) => Some(aligned(cx, range)),
        Err(ApiError::Validation(list)) => {
            errors.extend(list);
            None
        }
        Err(other) => return Err(other),
    };
    let (Some(metric), Some(range), true) = (metric, range, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    // Without an interval: hours for a day or two, days beyond.
    let interval = interval.unwrap_or(if range.len_ms() <= 2 * DAY_MS {
        Interval::Hour
    } else {
        Interval::Day
    });
    let starts = buckets(range, interval).map_err(|m| ApiError::field("interval", m))?;
    let span = bucket_span(range, interval);
    let team = caller.team(&cx.db);
    let points = analytics::hour_trend(&team, span, interval, metric).await?;
    // Cost is stored in nano-USD and answered in dollars, like every `*_usd` figure.
    let scale = |v: i64| match metric {
        TrendMetric::Cost => json!(usd(v)),
        _ => json!(v),
    };
    Ok(respond::ok(&json!({
        "metric": metric.as_str(),
        "interval": interval.as_str(),
        "range": cx.range_label(DEFAULT_RANGE),
        "from": range.from,
        "to": range.to,
        "buckets": zero_filled(&starts, &points, scale),
    })))
}

fn zero_filled(starts: &[i64], points: &[Point], scale: impl Fn(i64) -> Value) -> Vec<Value> {
    let values: HashMap<i64, i64> = points.iter().map(|p| (p.ts, p.value)).collect();
    starts
        .iter()
        .map(|ts| json!({"ts": ts, "value": scale(values.get(ts).copied().unwrap_or(0))}))
        .collect()
}

/// GET /api/analytics/export.csv?range= — every event of the window, oldest first, as CSV,
/// streamed page by page so a long window never sits in memory whole.
pub async fn export_csv(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let range = window(cx)?;
    let export = Export {
        db: Db::new(&cx.env)?,
        team: OwnedTeam::of(&caller.team(&cx.db)),
        range,
        after: None,
        request_id: cx.request_id.clone(),
    };
    let body = stream::try_unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(Some(chunk)) => Ok(Some((chunk, export))),
            Ok(None) => Ok(None),
            Err(e) => {
                worker::console_error!("{} export: {e}", export.request_id);
                Err(e)
            }
        }
    });
    let headers = Headers::new();
    headers.set("content-type", "text/csv; charset=utf-8")?;
    let filename = format!("beacon-events-{}-{}.csv", range.from, range.to);
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .from_stream(body)?)
}

/// An export in progress: where the last page ended (`None` before the header is sent).
struct Export {
    db: Db,
    team: OwnedTeam,
    range: TimeRange,
    after: Option<(i64, String)>,
    request_id: String,
}

impl Export {
    async fn next_chunk(&mut self) -> worker::Result<Option<Vec<u8>>> {
        let Some(after) = self.after.take() else {
            self.after = Some((self.range.from, String::new()));
            let header = [
                "timestamp",
                "id",
                "component",
                "action",
                "user_id",
                "session_id",
                "properties",
            ];
            return Ok(Some(csv::line(&header).into_bytes()));
        };
        let team = self.team.scope(&self.db);
        let rows =
            analytics::export_page(&team, self.range, (after.0, &after.1), EXPORT_PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        self.after = Some((last.ts, last.id.clone()));
        Ok(Some(
            rows.iter()
                .map(export_line)
                .collect::<String>()
                .into_bytes(),
        ))
    }
}

fn export_line(row: &ExportRow) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    csv::line(&[
        row.ts.to_string(),
        row.id.clone(),
        row.component.clone(),
        row.action.clone(),
        text(&row.user_id),
        text(&row.session_id),
        text(&row.properties),
    ])
}

/// Component names can hold any character; cursors may not, so names travel hex-encoded.
fn hex(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(key: &str) -> Option<String> {
    if !key.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(key.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}
