//! What happens when an execution reaches a terminal state. The error tracker and notifications
//! subscribe here as they land; for now the outcome is logged.

use worker::Env;

use super::StepError;
use crate::store::executions::ExecutionRow;
use crate::store::Team;

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
}
