//! Error tracking: clients report errors (the engine reports failed runs itself, through its
//! hooks), occurrences group into issues by fingerprint, and people list, read, resolve and
//! reopen issues and see the statistics.

use serde_json::Value;
use worker::{D1PreparedStatement, Response};

use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::errors::{derive_severity, fingerprint, Severity, SEVERITIES};
use crate::domain::fields::Fields;
use crate::domain::ids::parse_uuid;
use crate::domain::paging::paginate;
use crate::domain::range::range_label;
use crate::domain::role::Role;
use crate::engine::hooks;
use crate::platform::new_id;
use crate::store::errors::{self, Filter, Occurrence};
use crate::store::{changes, workflows, Team};

/// Occurrences shown with an issue.
const RECENT_OCCURRENCES: u32 = 20;

/// POST /api/errors {type, message, severity?, stack?, workflow_id?, step_id?, context?} — by a
/// member or above, signed in or with an access token: a viewer token is read-only, as it is for
/// telemetry.
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let mut f = Fields::new(&body)?;
    let kind = f.text("type", 100);
    let message = f.text("message", 2000);
    let severity = match f.optional_text("severity", 20) {
        Some(raw) => Severity::parse(&raw).map(Some).or_else(|| {
            f.error("severity", format!("must be one of {SEVERITIES}"));
            None
        }),
        None => Some(None),
    };
    let stack = f.optional_text("stack", 64 * 1024);
    let step_id = f.optional_text("step_id", 100);
    let workflow_id = match f.optional_text("workflow_id", 64) {
        Some(raw) => match parse_uuid(&raw) {
            Some(id) if workflows::get(&team, &id).await?.is_some() => Some(Some(id)),
            _ => {
                f.error("workflow_id", "is not one of the team's workflows");
                None
            }
        },
        None => Some(None),
    };
    let context = match f.value("context") {
        None => Some(None),
        Some(v @ Value::Object(_)) => Some(Some(v.to_string())),
        Some(_) => {
            f.error("context", "must be a JSON object");
            None
        }
    };
    let (kind, message, severity, workflow_id, context) =
        f.finish((kind, message, severity, workflow_id, context))?;
    let (id, issue_id) = (new_id()?, new_id()?);
    let print = fingerprint(&kind, &message, workflow_id.as_deref(), step_id.as_deref());
    let occurrence = Occurrence {
        id: &id,
        issue_id: &issue_id,
        fingerprint: &print,
        source: "client",
        kind: &kind,
        message: &message,
        severity: severity.unwrap_or_else(|| derive_severity(&kind, None)),
        provider_status: None,
        stack: stack.as_deref(),
        detail: None,
        context: context.as_deref(),
        execution_id: None,
        workflow_id: workflow_id.as_deref(),
        workflow_version: None,
        step_id: step_id.as_deref(),
        agent: None,
        trace_id: None,
        span_id: None,
    };
    let outcome = errors::capture(&team, &occurrence, cx.now)
        .await?
        .ok_or_else(|| ApiError::Internal("the error issue was not recorded".into()))?;
    hooks::error_issue_changed(&team, &outcome, &kind, &message).await;
    let body = errors::created_json(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::raw_json(201, body))
}

fn filter(cx: &Ctx) -> ApiResult<Filter> {
    let mut f = Filter {
        severities: cx.word_list("severity", &["low", "medium", "high", "critical"])?,
        statuses: cx.word_list("status", &["unresolved", "resolved", "regressed"])?,
        workflow_id: cx.query_id("workflow")?,
        from: cx.instant("from")?,
        to: cx.instant("to")?,
    };
    match cx.query("resolved").filter(|s| !s.is_empty()) {
        None => {}
        Some("true") => f.statuses = Some(r#"["resolved"]"#.into()),
        Some("false") => f.statuses = Some(r#"["unresolved","regressed"]"#.into()),
        Some(_) => return Err(ApiError::field("resolved", "must be true or false")),
    }
    Ok(f)
}

/// GET /api/errors?severity=&resolved=true|false&status=&workflow=&from=&to= — issues by last
/// seen, newest first; `from`/`to` bound `last_seen_at`.
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let filter = filter(cx)?;
    let rows = errors::list_json(&caller.team(&cx.db), &filter, &page).await?;
    let rows: Vec<Value> = serde_json::from_str(&rows).unwrap_or_default();
    let (rows, next) = paginate(rows, &page, |i| {
        format!("{}:{}", i["last_seen_at"], i["id"].as_str().unwrap_or(""))
    });
    Ok(respond::page(&rows, next))
}

/// The issue with its recent occurrences, or 404.
async fn detail(team: &Team<'_>, raw_id: &str) -> ApiResult<String> {
    let id = path_id(raw_id)?;
    errors::detail_json(team, &id, RECENT_OCCURRENCES)
        .await?
        .ok_or(ApiError::NotFound)
}

/// GET /api/errors/:id — the issue and its latest occurrences, with stack traces and detail.
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let body = detail(&caller.team(&cx.db), raw_id).await?;
    Ok(respond::raw_json(200, body))
}

/// POST /api/errors/:id/resolve {notes?} — unresolved/regressed → resolved, in the workflow's
/// current version: a later occurrence from that version or a newer one regresses it. The body
/// may be left out.
pub async fn resolve(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let body = cx.optional_json(BODY_LIMIT).await?;
    let notes = match &body {
        Some(body) => {
            let mut f = Fields::new(body)?;
            let notes = f.optional_text("notes", 2000);
            f.finish((Some(notes),))?.0
        }
        None => None,
    };
    let team = caller.team(&cx.db);
    let statement = errors::resolve(&team, &id, &caller.user_id, notes.as_deref(), cx.now)?;
    transition(cx, &team, &id, statement, "This issue is already resolved.").await
}

/// POST /api/errors/:id/reopen — resolved/regressed → unresolved.
pub async fn reopen(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let statement = errors::reopen(&team, &id)?;
    transition(cx, &team, &id, statement, "This issue is open already.").await
}

/// Runs a guarded status change: the issue as it now is, 404 when it is not the team's, 409
/// (`refused`) when it was not in a state the change starts from.
async fn transition(
    cx: &Ctx,
    team: &Team<'_>,
    id: &str,
    change: D1PreparedStatement,
    refused: &str,
) -> ApiResult<Response> {
    let changed = changes(&cx.db.batch(vec![change]).await?[0]) > 0;
    let body = detail(team, id).await?;
    if !changed {
        return Err(ApiError::conflict("invalid_state", refused));
    }
    Ok(respond::raw_json(200, body))
}

/// GET /api/errors/stats?range= — occurrences by severity, type and day (zero-filled), and the
/// error rate: failed or timed-out executions over all executions created in the window.
pub async fn stats(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let range = cx.range("7d")?;
    let label = range_label(cx.query("range").filter(|r| !r.is_empty()));
    let body = errors::stats_json(&caller.team(&cx.db), &range, label).await?;
    Ok(respond::raw_json(200, body))
}
