//! The execution engine's transitions: starting a run, claiming, finishing and failing its
//! steps, finishing the run, and finding runs whose queue message may have been lost. Every one
//! is a guarded UPDATE (`WHERE status IN (...)`), so concurrent consumers, cancels and
//! redeliveries cannot move an execution or step backwards or run a step twice. Steps have no
//! `team_id` of their own: each statement reaches them through their team's execution.

use worker::{D1PreparedStatement, Result};

use super::executions::{event, get, Recorded};
use super::{changes, row, Db, Team};
use crate::args;
use crate::domain::execution::ExecutionStatus;
use crate::domain::ids::TeamId;

/// Holds when the step's execution `?` belongs to the team `?`.
const OWNED: &str =
    "EXISTS (SELECT 1 FROM executions WHERE id = execution_steps.execution_id AND team_id = ?)";

/// pending → running (first delivery) or still running (a redelivery): whether to go on.
pub async fn start(team: &Team<'_>, id: &str, now: i64, deadline: i64) -> Result<bool> {
    let results = team
        .db
        .batch(vec![
            team.db.stmt(
                "UPDATE executions SET status = 'running', started_at = ?, deadline_at = ?
                 WHERE team_id = ? AND id = ? AND status = 'pending'",
                args![now, deadline, team.id, id],
            )?,
            event(team, id, ExecutionStatus::Running, now, Recorded::IfChanged)?,
        ])
        .await?;
    if changes(&results[0]) > 0 {
        return Ok(true);
    }
    Ok(get(team, id)
        .await?
        .is_some_and(|e| e.status == ExecutionStatus::Running))
}

/// Takes a step to run: pending, or running under a lease that ran out (its consumer died) and
/// tried fewer than `max_attempts` times. Only one consumer can win; the loser sees `false`.
pub async fn claim_step(
    team: &Team<'_>,
    execution_id: &str,
    step_id: &str,
    now: i64,
    lease_until: i64,
    max_attempts: i64,
) -> Result<bool> {
    // A dead consumer's budget hold is given back before the step is taken over.
    let mut statements = super::budgets::release_step(team, execution_id, step_id, Some(now))?;
    statements.push(team.db.stmt(
        "UPDATE execution_steps SET status = 'running', attempts = attempts + 1, lease_until = ?,
                started_at = COALESCE(started_at, ?)
         WHERE execution_id = ? AND step_id = ?
           AND (status = 'pending' OR (status = 'running' AND lease_until < ? AND attempts < ?))
           AND EXISTS (SELECT 1 FROM executions WHERE id = ? AND team_id = ? AND status = 'running')",
        args![
            lease_until,
            now,
            execution_id,
            step_id,
            now,
            max_attempts,
            execution_id,
            team.id
        ],
    )?);
    let results = team.db.batch(statements).await?;
    Ok(results.last().is_some_and(|r| changes(r) > 0))
}

/// running (lease run out, `max_attempts` used) → failed: a step whose consumer died every time
/// it ran is not taken over again. Whether this call failed it.
pub async fn fail_abandoned_step(
    team: &Team<'_>,
    execution_id: &str,
    step_id: &str,
    error: &str,
    now: i64,
    max_attempts: i64,
) -> Result<bool> {
    let mut statements = super::budgets::release_step(team, execution_id, step_id, Some(now))?;
    statements.push(team.db.stmt(
        &format!(
            "UPDATE execution_steps SET status = 'failed', error = ?, completed_at = ?, lease_until = NULL
             WHERE execution_id = ? AND step_id = ? AND status = 'running' AND lease_until < ? AND attempts >= ?
               AND {OWNED}"
        ),
        args![error, now, execution_id, step_id, now, max_attempts, team.id],
    )?);
    let results = team.db.batch(statements).await?;
    Ok(results.last().is_some_and(|r| changes(r) > 0))
}

/// What a step that succeeded produced.
pub struct StepResult<'a> {
    pub output: &'a str,
    pub tokens: Option<&'a str>,
    pub cost_nusd: Option<i64>,
}

/// running → succeeded, with what the step produced.
pub fn step_succeeded(
    team: &Team,
    execution_id: &str,
    step_id: &str,
    result: &StepResult,
    now: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        &format!(
            "UPDATE execution_steps SET status = 'succeeded', output = ?, tokens = ?, cost_nusd = ?, completed_at = ?,
                    lease_until = NULL
             WHERE execution_id = ? AND step_id = ? AND status = 'running' AND {OWNED}"
        ),
        args![
            result.output,
            result.tokens,
            result.cost_nusd,
            now,
            execution_id,
            step_id,
            team.id
        ],
    )
}

/// running → failed, with why.
pub fn step_failed(
    team: &Team,
    execution_id: &str,
    step_id: &str,
    error: &str,
    now: i64,
) -> Result<D1PreparedStatement> {
    team.db.stmt(
        &format!(
            "UPDATE execution_steps SET status = 'failed', error = ?, completed_at = ?, lease_until = NULL
             WHERE execution_id = ? AND step_id = ? AND status = 'running' AND {OWNED}"
        ),
        args![error, now, execution_id, step_id, team.id],
    )
}

/// running → a terminal status; steps that never started become `skipped`.
pub fn finish(
    team: &Team,
    id: &str,
    status: ExecutionStatus,
    error: Option<&str>,
    now: i64,
) -> Result<Vec<D1PreparedStatement>> {
    Ok(vec![
        team.db.stmt(
            "UPDATE executions SET status = ?, error = ?, completed_at = ?
             WHERE team_id = ? AND id = ? AND status IN ('pending', 'running')",
            args![status, error, now, team.id, id],
        )?,
        event(team, id, status, now, Recorded::IfChanged)?,
        team.db.stmt(
            &format!(
                "UPDATE execution_steps SET status = 'skipped' WHERE execution_id = ? AND status = 'pending' AND {OWNED}"
            ),
            args![id, team.id],
        )?,
    ])
}

row! {
    /// Unfinished executions whose queue message may have been lost: pending for over a minute, or
    /// running with no step holding a live lease. Cross-team housekeeping for the cron tick.
    #[derive(Debug)]
    pub struct Stalled {
        pub id: String,
        pub team_id: TeamId,
    }
}

pub async fn stalled(db: &Db, now: i64, limit: u32) -> Result<Vec<Stalled>> {
    db.all(
        "SELECT e.id, e.team_id FROM executions e
         WHERE e.status IN ('pending', 'running') AND e.created_at < ?1
           AND NOT EXISTS (SELECT 1 FROM execution_steps s WHERE s.execution_id = e.id AND s.status = 'running' AND s.lease_until >= ?2)
         LIMIT ?3",
        args![now - 60_000, now, limit],
    )
    .await
}
