//! What happens when an execution reaches a terminal state: a scheduled run updates its
//! schedule's failure streak (disabling it after five failures in a row, recorded in the activity
//! log). The error tracker and notifications subscribe here as they land.

use serde_json::json;
use worker::Env;

use super::StepError;
use crate::notify::{self, Note};
use crate::platform::{new_id, now_ms};
use crate::store::activity::{self, Event};
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
    notify_outcome(team, exec, status, error).await;
    if let (Some(schedule_id), "succeeded" | "failed" | "timed_out") = (&exec.schedule_id, status) {
        if let Err(e) = schedule_result(team, schedule_id, status == "succeeded").await {
            worker::console_error!("hooks: schedule {schedule_id}: {e}");
        }
    }
}

/// A failed run (or a scheduled one) tells every member — the system did it, so the member who
/// started it is told too; a succeeded run only those who asked for successes.
async fn notify_outcome(
    team: &Team<'_>,
    exec: &ExecutionRow,
    status: &str,
    error: Option<&StepError>,
) {
    let (kind, title) = match (status, exec.schedule_id.is_some()) {
        ("failed" | "timed_out", true) => (
            "schedule.failed",
            format!("Scheduled run of {} {status}", exec.workflow_name),
        ),
        ("failed" | "timed_out", false) => (
            "execution.failed",
            format!("{} {status}", exec.workflow_name),
        ),
        ("succeeded", _) => (
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
        let note = Note {
            category: "workflow",
            kind: "schedule.disabled",
            title: "A schedule was disabled".into(),
            message: format!("It failed {MAX_SCHEDULE_FAILURES} runs in a row; fix the workflow and enable it again."),
            link: Some("/scheduler".into()),
        };
        notify::raise(team, None, note).await;
    }
    Ok(())
}
