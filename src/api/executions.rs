//! Executions: the list with filters, one execution with its steps, cancel, retry, and the live
//! feed of status changes as Server-Sent Events.

use serde_json::{json, Value};
use worker::Response;

use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx};
use super::quota::{self, Kind};
use super::respond;
use super::sse;
use crate::domain::execution::ExecutionStatus;
use crate::domain::role::Role;
use crate::engine::{self, Start};
use crate::store::executions::{self, ExecutionRow, Filter, StepRow};
use crate::store::workflows::{self};
use crate::store::{changes, Db, Team};

fn parse_json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

pub fn summary_json(e: &ExecutionRow) -> Value {
    json!({
        "id": e.id,
        "trace_id": crate::domain::otlp::run::trace_id(&e.id),
        "workflow_id": e.workflow_id,
        "workflow_name": e.workflow_name,
        "workflow_version": e.workflow_version,
        "status": e.status,
        "error": parse_json(e.error.as_deref()),
        "retry_of": e.retry_of,
        "schedule_id": e.schedule_id,
        "created_at": e.created_at,
        "started_at": e.started_at,
        "completed_at": e.completed_at,
    })
}

fn step_json(s: &StepRow) -> Value {
    json!({
        "id": s.step_id,
        "kind": s.kind,
        "agent": s.agent,
        "status": s.status,
        "attempts": s.attempts,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "output": s.output,
        "error": parse_json(s.error.as_deref()),
        "tokens": parse_json(s.tokens.as_deref()),
        "cost_nusd": s.cost_nusd,
        "cost_usd": s.cost_nusd.map(|n| n as f64 / 1e9),
    })
}

async fn detail(team: &Team<'_>, e: &ExecutionRow) -> ApiResult<Value> {
    let steps = executions::steps(team, &e.id).await?;
    Ok(detail_json(e, &steps))
}

fn detail_json(e: &ExecutionRow, steps: &[StepRow]) -> Value {
    let mut body = summary_json(e);
    body["input"] = parse_json(Some(&e.input));
    body["steps"] = Value::Array(steps.iter().map(step_json).collect());
    body
}

fn filter(cx: &Ctx) -> ApiResult<Filter> {
    let mut f = Filter {
        statuses: cx.word_list("status", &ExecutionStatus::ALL.map(ExecutionStatus::as_str))?,
        workflow_id: cx.query_id("workflow")?,
        from: cx.instant("from")?,
        to: cx.instant("to")?,
        ..Filter::default()
    };
    if let Some(q) = cx.query("q").map(str::trim).filter(|s| !s.is_empty()) {
        if q.chars().count() > 200 {
            return Err(ApiError::field("q", "must be at most 200 characters"));
        }
        f.name_contains = Some(q.to_string());
    }
    Ok(f)
}

/// GET /api/executions?status=&workflow=&q=&from=&to=
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let filter = filter(cx)?;
    let found = executions::list_json(&caller.team(&cx.db), &filter, &page).await?;
    Ok(page_json(found))
}

/// `{data, next_cursor}` around a page the database wrote as JSON.
pub fn page_json(found: executions::ListPage) -> Response {
    let next = found
        .last
        .filter(|_| found.more)
        .map(|id| crate::domain::paging::encode_cursor(&id));
    respond::raw_json(
        200,
        format!(
            "{{\"data\":{},\"next_cursor\":{}}}",
            found.body,
            Value::from(next)
        ),
    )
}

/// GET /api/executions/:id
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let (e, steps) = executions::get_with_steps(&caller.team(&cx.db), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&detail_json(&e, &steps)))
}

async fn find(team: &Team<'_>, id: &str) -> ApiResult<ExecutionRow> {
    executions::get(team, id).await?.ok_or(ApiError::NotFound)
}

fn wrong_state(e: &ExecutionRow, action: &str) -> ApiError {
    ApiError::conflict(
        "invalid_state",
        format!("This execution is {}; it cannot be {action}.", e.status),
    )
}

/// POST /api/executions/:id/cancel — pending/running → cancelled; a running step finishes, no
/// further step starts.
pub async fn cancel(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let e = find(&team, &id).await?;
    let results = cx.db.batch(executions::cancel(&team, &id, cx.now)?).await?;
    if changes(&results[0]) == 0 {
        let now = executions::get(&team, &id).await?.unwrap_or(e);
        return Err(wrong_state(&now, "cancelled"));
    }
    let e = find(&team, &id).await?;
    Ok(respond::ok(&detail(&team, &e).await?))
}

/// POST /api/executions/:id/retry — a failed, cancelled or timed-out run again, as a new
/// execution of the same version with the same input (201).
pub async fn retry(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let e = find(&team, &id).await?;
    if !e.status.can_retry() {
        return Err(wrong_state(&e, "retried"));
    }
    let version = workflows::version(&team, &e.workflow_id, e.workflow_version)
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = parse_json(Some(&e.input));
    quota::take(&cx.env, &team, Kind::Executions, 1).await?;
    let start = Start {
        workflow_id: &e.workflow_id,
        version: e.workflow_version,
        workflow_name: &version.name,
        steps: &version.steps,
        input: &input,
        triggered_by: Some(&caller.user_id),
        idempotency_key: None,
        retry_of: Some(&e.id),
        schedule_id: None,
    };
    let new_id = engine::start(&cx.env, &team, &start, cx.now).await?;
    let created = executions::get(&team, &new_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::created(&detail(&team, &created).await?))
}

/// GET /api/executions/stream — `id: <seq>`, `event: execution`, `data: {execution_id, status,
/// at}`; resumes after `Last-Event-ID`, else starts from now.
pub async fn stream(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let resume = cx.last_event_id().and_then(|v| v.parse::<i64>().ok());
    let start_seq = match resume {
        Some(seq) => seq,
        None => executions::last_seq(&caller.team(&cx.db)).await?,
    };
    sse::polled(
        cx,
        &caller,
        String::new(),
        start_seq,
        1_000,
        |env, team, seq| async move {
            let db = Db::new(&env)?;
            let events = executions::events_since(&team.scope(&db), seq, 100).await?;
            let mut chunk = String::new();
            for e in &events {
                let data = json!({
                    "execution_id": e.execution_id, "status": e.status, "at": e.created_at,
                    "workflow_id": e.workflow_id, "workflow_name": e.workflow_name,
                });
                chunk.push_str(&sse::event(Some(&e.seq.to_string()), "execution", &data));
            }
            Ok((chunk, events.last().map_or(seq, |e| e.seq)))
        },
    )
    .await
}
