//! The run loop: advances one execution as far as it goes — each step claimed before it runs,
//! run, and recorded with its output, usage and cost; then the execution finished and its hooks
//! told.

use std::collections::HashMap;

use serde_json::{json, Value};
use worker::Env;

use super::step::{tokens_json, truncate, Settings, StepError, StepOutput, Usage};
use super::{cost, headers, hooks, http, llm, EXECUTION_TIMEOUT_MS, OUTPUT_LIMIT};
use crate::domain::execution::{ExecutionStatus, StepStatus};
use crate::domain::otlp::run::{self as trace, Ended};
use crate::domain::workflow::{parse_steps, Step, StepKind};
use crate::platform::now_ms;
use crate::store::executions::{self, ExecutionRow};
use crate::store::traces::{self, Priced};
use crate::store::transitions::{self, StepResult};
use crate::store::{workflows, Db, Team};

/// How long a claimed step belongs to its consumer: a step's time limit across every retry.
const STEP_LEASE_MS: i64 = 6 * 60_000;
/// How many consumers a step may be started by. A consumer that dies mid-step (a crash, a
/// reset instance) leaves its lease to run out and the next delivery takes the step over; a step
/// that has taken down this many consumers fails as `interrupted` instead of looping.
const MAX_STEP_ATTEMPTS: i64 = 3;

/// Advances one execution as far as it goes. `Err` means "try this message again later".
pub async fn run(env: &Env, job: &super::Job) -> worker::Result<()> {
    let db = Db::new(env)?;
    let team = Team::of_job(&db, &job.team_id);
    let Some(exec) = executions::get(&team, &job.execution_id).await? else {
        return Ok(());
    };
    let now = now_ms();
    if !transitions::start(&team, &exec.id, now, now + EXECUTION_TIMEOUT_MS).await? {
        return Ok(()); // finished, cancelled, or gone: nothing to do
    }
    let deadline = exec.deadline_at.unwrap_or(now + EXECUTION_TIMEOUT_MS);
    let Some(version) = workflows::version(&team, &exec.workflow_id, exec.workflow_version).await?
    else {
        let error = StepError::new(
            "workflow_missing",
            "The workflow version this execution runs no longer exists.",
        );
        return finish(env, &team, &exec, ExecutionStatus::Failed, Some(&error)).await;
    };
    let mut definition: Value = serde_json::from_str(&version.steps).unwrap_or(Value::Null);
    if let Err(e) = headers::open(env, team.id().as_str(), &exec.workflow_id, &mut definition).await
    {
        worker::console_error!("engine: execution {}: opening header values: {e}", exec.id);
        let error = StepError::new(
            "key_unavailable",
            "The workflow's http header values cannot be decrypted; save the workflow again with them.",
        );
        return finish(env, &team, &exec, ExecutionStatus::Failed, Some(&error)).await;
    }
    // Saved definitions were validated; URL safety is enforced again when each step runs.
    let steps = match parse_steps(Some(&definition), true) {
        Ok(steps) => steps,
        Err(_) => {
            let error = StepError::new(
                "invalid_workflow",
                "The stored workflow definition is not valid.",
            );
            return finish(env, &team, &exec, ExecutionStatus::Failed, Some(&error)).await;
        }
    };
    let input: Value = serde_json::from_str(&exec.input).unwrap_or(json!({}));
    let settings = Settings::from_env(env);

    let mut outputs: HashMap<String, String> = HashMap::new();
    for row in executions::steps(&team, &exec.id).await? {
        match row.status {
            StepStatus::Succeeded => {
                outputs.insert(row.step_id, row.output.unwrap_or_default());
            }
            status if status.ends_the_run() => return Ok(()),
            _ => {}
        }
    }
    for step in &steps {
        if outputs.contains_key(&step.id) {
            continue; // done on an earlier delivery
        }
        let now = now_ms();
        if now > deadline {
            let error = StepError::new("timeout", "The execution ran past its 15-minute limit.");
            return finish(env, &team, &exec, ExecutionStatus::TimedOut, Some(&error)).await;
        }
        let lease = now + STEP_LEASE_MS;
        if !transitions::claim_step(&team, &exec.id, &step.id, now, lease, MAX_STEP_ATTEMPTS)
            .await?
        {
            return give_up_abandoned(env, &team, &exec, step, now).await;
        }
        match run_step(env, &team, &exec.id, step, &input, &outputs, &settings).await {
            Ok(output) => {
                let text = truncate(output.text, OUTPUT_LIMIT);
                record_success(&team, &exec, step, &text, output.usage.as_ref(), now).await?;
                outputs.insert(step.id.clone(), text);
            }
            Err(mut error) => {
                error.step_id = Some(step.id.clone());
                let error_json = serde_json::to_string(&error).unwrap_or_default();
                let ended = now_ms();
                let span = trace::step(
                    &exec.id,
                    &step.id,
                    step.agent(),
                    None,
                    &Ended {
                        start_ms: now,
                        end_ms: ended,
                        error: Some((error.kind, &error.message)),
                    },
                );
                let mut statements = vec![transitions::step_failed(
                    &team,
                    &exec.id,
                    &step.id,
                    &error_json,
                    ended,
                )?];
                statements.extend(traces::record_run(
                    &team,
                    &[unpriced(&span)],
                    &exec.id,
                    ended,
                )?);
                db.batch(statements).await?;
                return finish(env, &team, &exec, ExecutionStatus::Failed, Some(&error)).await;
            }
        }
    }
    finish(env, &team, &exec, ExecutionStatus::Succeeded, None).await
}

/// After a lost claim: another consumer holds the step, or the execution was cancelled (nothing
/// more to do here) — or every consumer that started the step died, and the step fails.
async fn give_up_abandoned(
    env: &Env,
    team: &Team<'_>,
    exec: &ExecutionRow,
    step: &Step,
    now: i64,
) -> worker::Result<()> {
    let mut error = StepError::new(
        "interrupted",
        format!(
            "The step was started {MAX_STEP_ATTEMPTS} times and its worker stopped each time before it finished; it is not run again."
        ),
    );
    error.step_id = Some(step.id.clone());
    let error_json = serde_json::to_string(&error).unwrap_or_default();
    let id = &exec.id;
    if transitions::fail_abandoned_step(team, id, &step.id, &error_json, now, MAX_STEP_ATTEMPTS)
        .await?
    {
        return finish(env, team, exec, ExecutionStatus::Failed, Some(&error)).await;
    }
    Ok(())
}

async fn run_step(
    env: &Env,
    team: &Team<'_>,
    execution_id: &str,
    step: &Step,
    input: &Value,
    outputs: &HashMap<String, String>,
    settings: &Settings,
) -> Result<StepOutput, StepError> {
    let earlier = |id: &str| outputs.get(id).cloned();
    match &step.kind {
        StepKind::Llm(llm_step) => {
            let holder = (execution_id, step.id.as_str());
            llm::run(env, team, holder, llm_step, input, &earlier, settings).await
        }
        StepKind::Http(http_step) => {
            let traceparent = trace::traceparent(execution_id, &step.id);
            http::run(http_step, input, &earlier, settings, &traceparent).await
        }
    }
}

fn unpriced(span: &crate::domain::otlp::Span) -> Priced<'_> {
    Priced {
        span,
        cost_nusd: None,
        price_id: None,
    }
}

async fn record_success(
    team: &Team<'_>,
    exec: &ExecutionRow,
    step: &Step,
    text: &str,
    usage: Option<&Usage>,
    started: i64,
) -> worker::Result<()> {
    let now = now_ms();
    let tokens = usage.map(|u| serde_json::to_string(&tokens_json(&u.tokens)).unwrap_or_default());
    let mut charge = match usage {
        Some(u) => Some(cost::charge(team, exec, &step.id, step.agent(), u, now)?),
        None => None,
    };
    let result = StepResult {
        output: text,
        tokens: tokens.as_deref(),
        cost_nusd: charge.as_ref().and_then(|c| c.cost_nusd),
    };
    let call = usage.map(|u| trace::Call {
        provider: u.provider,
        model: &u.model,
        tokens: u.tokens,
    });
    let ended = Ended {
        start_ms: started,
        end_ms: now,
        error: None,
    };
    let span = trace::step(&exec.id, &step.id, step.agent(), call, &ended);
    let priced = Priced {
        span: &span,
        cost_nusd: result.cost_nusd,
        price_id: usage.and_then(|u| u.plan.price.as_ref().map(|p| p.id.as_str())),
    };
    let mut statements = vec![transitions::step_succeeded(
        team, &exec.id, &step.id, &result, now,
    )?];
    // The span before the charge: the charge's last statement is the budget crossings.
    statements.extend(traces::record_run(team, &[priced], &exec.id, now)?);
    if let Some(c) = &mut charge {
        statements.append(&mut c.statements);
    }
    let results = team.db().batch(statements).await?;
    if let Some(c) = &charge {
        cost::announce(team, c, results.last()).await;
    }
    Ok(())
}

async fn finish(
    env: &Env,
    team: &Team<'_>,
    exec: &ExecutionRow,
    status: ExecutionStatus,
    error: Option<&StepError>,
) -> worker::Result<()> {
    let error_json = error.map(|e| serde_json::to_string(e).unwrap_or_default());
    let now = now_ms();
    let root = trace::root(
        &exec.id,
        &exec.workflow_name,
        &Ended {
            start_ms: exec.created_at,
            end_ms: now,
            error: error.map(|e| (e.kind, e.message.as_str())),
        },
    );
    let mut statements = transitions::finish(team, &exec.id, status, error_json.as_deref(), now)?;
    statements.extend(traces::record_run(team, &[unpriced(&root)], &exec.id, now)?);
    let results = team.db().batch(statements).await?;
    if crate::store::changes(&results[0]) > 0 {
        hooks::execution_finished(env, team, exec, status, error).await;
    }
    Ok(())
}
