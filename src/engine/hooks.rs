//! What happens when an execution reaches a terminal state: a failure is recorded by the error
//! tracker, and a scheduled run updates its schedule's failure streak (disabling it after five
//! failures in a row, recorded in the activity log). Also the events notifications will announce
//! (budget thresholds, new and regressed error issues): logged until that feature fills them in.

use serde_json::json;
use worker::Env;

use super::StepError;
use crate::domain::errors::{derive_severity, fingerprint};
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
    status: &str,
    error: Option<&StepError>,
) {
    match error {
        Some(e) => worker::console_log!(
            "execution {} (team {}, workflow {} v{}) {status}: {} at step {}",
            exec.id,
            team.id,
            exec.workflow_id,
            exec.workflow_version,
            e.kind,
            e.step_id.as_deref().unwrap_or("-")
        ),
        None => worker::console_log!("execution {} (team {}) {status}", exec.id, team.id),
    }
    if let (Some(e), "failed" | "timed_out") = (error, status) {
        if let Err(err) = record_failure(team, exec, e).await {
            worker::console_error!("hooks: recording the error of execution {}: {err}", exec.id);
        }
    }
    if let (Some(schedule_id), "succeeded" | "failed" | "timed_out") = (&exec.schedule_id, status) {
        if let Err(e) = schedule_result(team, schedule_id, status == "succeeded").await {
            worker::console_error!("hooks: schedule {schedule_id}: {e}");
        }
    }
}

async fn schedule_result(
    team: &Team<'_>,
    schedule_id: &str,
    succeeded: bool,
) -> worker::Result<()> {
    let now = now_ms();
    if schedules::record_result(team, schedule_id, succeeded, MAX_SCHEDULE_FAILURES, now).await? {
        let event = Event {
            action: "schedule.disabled",
            target_type: "schedule",
            target_id: Some(schedule_id),
            detail: json!({"reason": format!("{MAX_SCHEDULE_FAILURES} failed runs in a row")}),
        };
        team.db
            .batch(vec![activity::record(team, &new_id()?, None, event, now)?])
            .await?;
    }
    Ok(())
}

/// The failure as an error occurrence, grouped into its issue.
async fn record_failure(team: &Team<'_>, exec: &ExecutionRow, e: &StepError) -> worker::Result<()> {
    let step_id = e.step_id.as_deref();
    let (id, issue_id) = (new_id()?, new_id()?);
    let print = fingerprint(e.kind, &e.message, Some(&exec.workflow_id), step_id);
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
    };
    if let Some(outcome) = errors::capture(team, &occurrence, now_ms()).await? {
        error_issue_changed(team, &outcome);
    }
    Ok(())
}

/// An occurrence opened a new issue or regressed a resolved one: both will notify the team.
pub fn error_issue_changed(team: &Team, outcome: &Outcome) {
    if outcome.regressed {
        worker::console_log!(
            "notify: error issue {} (team {}) regressed",
            outcome.id,
            team.id
        );
    } else if outcome.count == 1 {
        worker::console_log!("notify: new error issue {} (team {})", outcome.id, team.id);
    }
}

/// The team's spending this month reached `threshold` % of its budget (once per threshold per
/// month); `detail` is `{threshold, spent_nusd, budget_nusd}`. Notifications (category
/// `billing`) will fill this in; for now it is logged.
pub fn budget_threshold_crossed(team: &Team, month: &str, threshold: i64, detail: &str) {
    worker::console_log!(
        "notify: team {} crossed {threshold}% of its {month} budget: {detail}",
        team.id
    );
}
