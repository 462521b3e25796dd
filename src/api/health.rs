//! Liveness for anyone; for a signed-in caller, the state of each dependency.

use serde_json::{json, Value};
use worker::Response;

use super::error::ApiResult;
use super::extract::Ctx;
use super::respond;
use crate::domain::lifecycle::{nearly_full, SIZE_LIMIT_BYTES, SIZE_WARN_PERCENT};
use crate::platform::{now_ms, number};
use crate::store::{health, Team};

/// A cron tick older than this means the trigger is not firing.
const CRON_STALE_MS: i64 = 3 * 60_000;
/// A run still waiting for the queue after this long means deliveries are not keeping up.
const QUEUE_SLOW_MS: i64 = 2 * 60_000;

/// GET /api/health
pub async fn get(cx: &mut Ctx) -> ApiResult<Response> {
    let d1 = check_d1(cx).await;
    let status = if d1.ok { "ok" } else { "degraded" };
    let version = env!("CARGO_PKG_VERSION");
    // An unreadable session is the same as none here: liveness must answer regardless.
    let Some(caller) = cx.caller().await.ok().flatten() else {
        return Ok(respond::ok(&json!({"status": status, "version": version})));
    };
    let kv = check_kv(cx).await;
    let queue = check_queue(cx, &caller.team(&cx.db)).await;
    let (d1_report, roomy) = with_size(cx, d1.report, d1.size);
    let status = if d1.ok && roomy && kv.0 && queue.0 {
        "ok"
    } else {
        "degraded"
    };
    let queue = queue.1;
    let cron = match d1.last_tick {
        None => json!({"state": "never", "last_tick_at": null}),
        Some(t) if cx.now - t > CRON_STALE_MS => json!({"state": "stale", "last_tick_at": t}),
        Some(t) => json!({"state": "ok", "last_tick_at": t}),
    };
    Ok(respond::ok(&json!({
        "status": status,
        "version": version,
        "checks": {"d1": d1_report, "kv": kv.1, "queue": queue, "cron": cron},
    })))
}

/// The executions queue: its binding, and the caller's team's backlog (runs accepted and not yet
/// picked up, and the age of the oldest).
async fn check_queue(cx: &Ctx, team: &Team<'_>) -> (bool, Value) {
    if cx.env.queue("EXECUTIONS").is_err() {
        return (
            false,
            json!({"state": "down", "error": "the EXECUTIONS binding is missing"}),
        );
    }
    match health::backlog(team).await {
        Ok(Some(b)) => {
            let slow = b.oldest.is_some_and(|t| cx.now - t > QUEUE_SLOW_MS);
            let state = if slow { "slow" } else { "ok" };
            (
                !slow,
                json!({"state": state, "backlog": b.pending, "running": b.running, "oldest_pending_at": b.oldest}),
            )
        }
        Ok(None) | Err(_) => (false, json!({"state": "unknown"})),
    }
}

struct D1Check {
    ok: bool,
    report: Value,
    last_tick: Option<i64>,
    size: Option<u64>,
}

/// The database's size against its limit (`D1_SIZE_LIMIT_BYTES`, D1's 10 GB unless set): past
/// `D1_SIZE_WARN_PERCENT` of it (80 unless set) the check says `nearly_full` and health degrades.
/// Answers the report and whether there is room.
fn with_size(cx: &Ctx, mut report: Value, size: Option<u64>) -> (Value, bool) {
    let setting = |name: &str, default: u64| number(&cx.env, name).unwrap_or(default);
    let limit = setting("D1_SIZE_LIMIT_BYTES", SIZE_LIMIT_BYTES);
    let percent = setting("D1_SIZE_WARN_PERCENT", SIZE_WARN_PERCENT);
    let full = size.is_some_and(|s| nearly_full(s, limit, percent));
    if let Some(map) = report.as_object_mut() {
        map.insert("size_bytes".into(), json!(size));
        map.insert("limit_bytes".into(), json!(limit));
        if full {
            map.insert("state".into(), json!("nearly_full"));
        }
    }
    (report, !full)
}

/// One query that both proves D1 answers and reads the last cron tick.
async fn check_d1(cx: &Ctx) -> D1Check {
    let started = now_ms();
    let result = health::last_tick(&cx.db).await;
    let latency_ms = now_ms() - started;
    match result {
        Ok((last_tick, size)) => D1Check {
            ok: true,
            report: json!({"state": "ok", "latency_ms": latency_ms}),
            last_tick,
            size,
        },
        Err(e) => {
            worker::console_error!("{} health: d1: {e}", cx.request_id);
            D1Check {
                ok: false,
                report: json!({"state": "down"}),
                last_tick: None,
                size: None,
            }
        }
    }
}

async fn check_kv(cx: &Ctx) -> (bool, Value) {
    let started = now_ms();
    let result = crate::store::cache::get(&cx.env, "health:probe")
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    match result {
        Ok(()) => (
            true,
            json!({"state": "ok", "latency_ms": now_ms() - started}),
        ),
        Err(e) => {
            worker::console_error!("{} health: kv: {e}", cx.request_id);
            (false, json!({"state": "down"}))
        }
    }
}
