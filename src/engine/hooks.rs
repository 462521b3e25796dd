//! What happens when an execution reaches a terminal state: a failure is recorded by the error
//! tracker, and a scheduled run updates its schedule's failure streak (disabling it after five
//! failures in a row, recorded in the activity log). Also the notifications for budget thresholds
//! and new or regressed error issues.

use serde_json::json;
use worker::Env;

use super::StepError;
use crate::domain::errors::{derive_severity, fingerprint};
use crate::domain::execution::ExecutionStatus;
use crate::domain::otlp::run;
use crate::notify::{self, Note};
use crate::platform::{new_id, now_ms};
use crate::store::activity::{self, Event};
use crate::store::errors::{self, Occurrence, Outcome};
use crate::store::executions::ExecutionRow;
use crate::store::{schedules, Team};

/// Failed scheduled runs in a row that disable their schedule.
const MAX_SCHEDULE_FAILURES: i64 = 5;

pub async fn execution_finished(
    _env: &Env,
    team: &Team<'_>,
    exec: &ExecutionRow,
    status: ExecutionStatus,
    error: Option<&StepError>,
) {
    match error {
        Some(e) => worker::console_log!(
            "execution {} (team {}, workflow {} v{}) {status}: {} at step {}",
            exec.id,
            team.id(),
            exec.workflow_id,
            exec.workflow_version,
            e.kind,
            e.step_id.as_deref().unwrap_or("-")
        ),
        None => worker::console_log!("execution {} (team {}) {status}", exec.id, team.id()),
    }
    notify_outcome(team, exec, status, error).await;
    if let (Some(e), true) = (error, status.is_failure()) {
        if let Err(err) = record_failure(team, exec, e).await {
            worker::console_error!("hooks: recording the error of execution {}: {err}", exec.id);
        }
    }
    // A cancelled scheduled run counts neither way.
    let counts = status.is_failure() || status == ExecutionStatus::Succeeded;
    if let (Some(schedule_id), true) = (&exec.schedule_id, counts) {
        if let Err(e) =
            schedule_result(team, schedule_id, status == ExecutionStatus::Succeeded).await
        {
            worker::console_error!("hooks: schedule {schedule_id}: {e}");
        }
    }
}

/// A failed run (or a scheduled one) tells every member — the system did it, so the member who
/// started it is told too; a succeeded run only those who asked for successes.
async fn notify_outcome(
    team: &Team<'_>,
    exec: &ExecutionRow,
    status: ExecutionStatus,
    error: Option<&StepError>,
) {
    let (kind, title) = match (status, exec.schedule_id.is_some()) {
        (s, true) if s.is_failure() => (
            "schedule.failed",
            format!("Scheduled run of {} {status}", exec.workflow_name),
        ),
        (s, false) if s.is_failure() => (
            "execution.failed",
            format!("{} {status}", exec.workflow_name),
        ),
        (ExecutionStatus::Succeeded, _) => (
            "execution.succeeded",
            format!("{} succeeded", exec.workflow_name),
        ),
        _ => return,
    };
    let message = match error {
        Some(e) => format!(
            "{} (step {}).",
            e.message,
            e.step_id.as_deref().unwrap_or("-")
        ),
        None => format!("Execution {} finished.", exec.id),
    };
    let note = Note {
        category: "workflow",
        kind,
        title,
        message,
        link: Some(format!("/executions/{}", exec.id)),
    };
    notify::raise(team, None, note).await;
}

/// A scheduled run's result: a success resets the streak, a failure (or a run that never
/// started) counts toward disabling the schedule.
pub async fn schedule_result(
    team: &Team<'_>,
    schedule_id: &str,
    succeeded: bool,
) -> worker::Result<()> {
    let now = now_ms();
    // The activity entry goes in the same batch as the disabling, written only if it disabled.
    let disabled = Event {
        action: "schedule.disabled",
        target_type: "schedule",
        target_id: Some(schedule_id),
        detail: json!({"reason": format!("{MAX_SCHEDULE_FAILURES} failed runs in a row")}),
    };
    let entry = activity::record_if_changed(team, &new_id()?, None, disabled, now)?;
    if schedules::record_result(
        team,
        schedule_id,
        succeeded,
        MAX_SCHEDULE_FAILURES,
        now,
        entry,
    )
    .await?
    {
        let note = Note {
            category: "workflow",
            kind: "schedule.disabled",
            title: "A schedule was disabled".into(),
            message: format!("It failed {MAX_SCHEDULE_FAILURES} runs in a row; fix the workflow and enable it again."),
            link: Some(format!("/schedules/{schedule_id}")),
        };
        notify::raise(team, None, note).await;
    }
    Ok(())
}

/// The failure as an error occurrence, grouped into its issue.
async fn record_failure(team: &Team<'_>, exec: &ExecutionRow, e: &StepError) -> worker::Result<()> {
    let step_id = e.step_id.as_deref();
    let (id, issue_id) = (new_id()?, new_id()?);
    let print = fingerprint(e.kind, &e.message, Some(&exec.workflow_id), step_id);
    let trace_id = run::trace_id(&exec.id);
    let span_id = match step_id {
        Some(step) => run::step_span_id(&exec.id, step),
        None => run::root_span_id(&exec.id),
    };
    let occurrence = Occurrence {
        id: &id,
        issue_id: &issue_id,
        fingerprint: &print,
        source: "engine",
        kind: e.kind,
        message: &e.message,
        severity: derive_severity(e.kind, e.provider_status),
        provider_status: e.provider_status.map(i64::from),
        stack: None,
        detail: e.detail.as_deref(),
        context: None,
        execution_id: Some(&exec.id),
        workflow_id: Some(&exec.workflow_id),
        workflow_version: Some(exec.workflow_version),
        step_id,
        agent: None,
        trace_id: Some(&trace_id),
        span_id: Some(&span_id),
    };
    if let Some(outcome) = errors::capture(team, &occurrence, now_ms()).await? {
        error_issue_changed(team, &outcome, e.kind, &e.message).await;
    }
    Ok(())
}

/// An occurrence opened a new issue or regressed a resolved one: the team is told (category
/// `system`; an error is the software's doing, so nobody is left out as its cause).
pub async fn error_issue_changed(team: &Team<'_>, outcome: &Outcome, kind: &str, message: &str) {
    let (note_kind, title) = if outcome.regressed {
        (
            "error.regressed",
            format!("Resolved error came back: {kind}"),
        )
    } else if outcome.count == 1 {
        ("error.new", format!("New error: {kind}"))
    } else {
        return;
    };
    let note = Note {
        category: "system",
        kind: note_kind,
        title,
        message: super::truncate(message.to_string(), 300),
        link: Some(format!("/errors/{}", outcome.id)),
    };
    notify::raise(team, None, note).await;
}

/// The team's spending this month reached `threshold` % of its budget (once per threshold per
/// month); `detail` is `{threshold, spent_nusd, budget_nusd}` as JSON. Category `billing`.
pub async fn budget_threshold_crossed(team: &Team<'_>, month: &str, threshold: i64, detail: &str) {
    let figures: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    // Dollars and cents by integer arithmetic (float formatting would link core's float printer).
    let usd = |field: &str| {
        let cents = (figures[field].as_i64().unwrap_or(0).max(0) + 5_000_000) / 10_000_000;
        format!("{}.{:02}", cents / 100, cents % 100)
    };
    let note = Note {
        category: "billing",
        kind: "budget.threshold",
        title: format!("Spending reached {threshold}% of the monthly budget"),
        message: format!(
            "${} of ${} spent in {month}.",
            usd("spent_nusd"),
            usd("budget_nusd")
        ),
        link: Some("/usage".into()),
    };
    notify::raise(team, None, note).await;
}
