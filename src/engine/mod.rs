//! The execution engine: the `EXECUTIONS` queue consumer that runs a workflow's steps in order.
//!
//! Delivery is at least once, so every transition is a guarded write: a step is claimed before it
//! runs (one consumer wins; a lease lets a dead consumer's step be taken over), a completed step
//! is never run again, and a cancelled execution starts no further step. A message is
//! acknowledged once its execution needs nothing more from it, and retried on infrastructure
//! errors; the consumer itself never fails.
//!
//! - [`llm`]: OpenAI, Anthropic and OpenAI-compatible calls with retries.
//! - [`cost`]: each call's price, budget reservation and settlement; re-pricing history.
//! - [`http`]: HTTP steps with URL safety, a timeout and a size cap.
//! - [`hooks`]: what other features subscribe to when an execution finishes.
//! - [`scheduler`]: starting scheduled runs from the cron tick.

pub mod cost;
pub mod hooks;
pub mod http;
pub mod llm;
pub mod scheduler;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{Env, Queue};

use crate::domain::usage::Tokens;
use crate::domain::workflow::{parse_steps, Step, StepKind};
use crate::platform::{new_id, now_ms};
use crate::store::executions::{self, ExecutionRow};
use crate::store::{workflows, Db, Team};

/// A step's default time limit, and an execution's.
pub const STEP_TIMEOUT_MS: i64 = 60_000;
pub const EXECUTION_TIMEOUT_MS: i64 = 15 * 60_000;
/// How long a claimed step belongs to its consumer: a step's time limit across every retry.
const STEP_LEASE_MS: i64 = 6 * 60_000;
/// How many consumers a step may be started by. A consumer that dies mid-step (a crash, a
/// reset instance) leaves its lease to run out and the next delivery takes the step over; a step
/// that has taken down this many consumers fails as `interrupted` instead of looping.
const MAX_STEP_ATTEMPTS: i64 = 3;
/// Stored (and passed on) step output is capped here.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// The queue message: which execution to advance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub execution_id: String,
    pub team_id: String,
}

/// Sends an execution to the queue.
pub async fn enqueue(env: &Env, job: &Job) -> worker::Result<()> {
    let queue: Queue = env.queue("EXECUTIONS")?;
    queue.send(job).await
}

/// What to run: one version of a workflow, with its input and where the run came from.
pub struct Start<'a> {
    pub workflow_id: &'a str,
    pub version: i64,
    pub workflow_name: &'a str,
    /// The version's stored step definitions (JSON array).
    pub steps: &'a str,
    pub input: &'a Value,
    pub triggered_by: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub retry_of: Option<&'a str>,
    pub schedule_id: Option<&'a str>,
}

/// Records a pending execution with its steps and sends it to the queue. With an idempotency key
/// already used, answers the earlier execution instead (and sends nothing). A failed send is
/// logged, not fatal: the cron sweep re-sends executions left pending.
pub async fn start(env: &Env, team: &Team<'_>, s: &Start<'_>, now: i64) -> worker::Result<String> {
    let id = new_id()?;
    let definitions: Vec<Value> = serde_json::from_str(s.steps).unwrap_or_default();
    let rows: Vec<Value> = definitions
        .iter()
        .map(|d| json!({"id": d["id"], "kind": d["kind"], "agent": d.get("agent")}))
        .collect();
    let new = executions::NewExecution {
        id: &id,
        workflow_id: s.workflow_id,
        workflow_version: s.version,
        workflow_name: s.workflow_name,
        input: &s.input.to_string(),
        retry_of: s.retry_of,
        schedule_id: s.schedule_id,
        idempotency_key: s.idempotency_key,
        triggered_by: s.triggered_by,
        steps: &Value::Array(rows).to_string(),
    };
    let results = team.db.batch(executions::create(team, &new, now)?).await?;
    if crate::store::changes(&results[0]) == 0 {
        if let Some(key) = s.idempotency_key {
            if let Some(existing) = executions::by_idempotency_key(team, key).await? {
                return Ok(existing);
            }
        }
        return Err(worker::Error::RustError(
            "execution was not recorded".into(),
        ));
    }
    if let Err(e) = enqueue(
        env,
        &Job {
            execution_id: id.clone(),
            team_id: team.id.to_string(),
        },
    )
    .await
    {
        worker::console_error!("engine: queueing execution {id}: {e} (the sweep will resend it)");
    }
    Ok(id)
}

/// Why a step failed, as recorded on the step and the execution.
#[derive(Debug, Clone, Serialize)]
pub struct StepError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
}

impl StepError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> StepError {
        StepError {
            kind,
            message: message.into(),
            provider_status: None,
            detail: None,
            step_id: None,
        }
    }
}

/// What a step produced.
pub struct StepOutput {
    pub text: String,
    pub usage: Option<Usage>,
}

/// One LLM call's usage, for its row.
pub struct Usage {
    pub provider: &'static str,
    pub model: String,
    pub key_id: String,
    pub tokens: Tokens,
    /// The price and budget reservation settled before the call.
    pub plan: cost::Plan,
}

/// Tunables read from the deployment (tests shorten the retry backoff).
pub struct Settings {
    pub allow_private: bool,
    pub retry_base_ms: u64,
}

impl Settings {
    pub fn from_env(env: &Env) -> Settings {
        let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
        Settings {
            allow_private: crate::platform::allow_private_upstreams(env),
            retry_base_ms: var("RETRY_BASE_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000),
        }
    }
}

/// Advances one execution as far as it goes. `Err` means "try this message again later".
pub async fn run(env: &Env, job: &Job) -> worker::Result<()> {
    let db = Db::new(env)?;
    let team = Team {
        db: &db,
        id: &job.team_id,
    };
    let Some(exec) = executions::get(&team, &job.execution_id).await? else {
        return Ok(());
    };
    let now = now_ms();
    if !executions::start(&team, &exec.id, now, now + EXECUTION_TIMEOUT_MS).await? {
        return Ok(()); // finished, cancelled, or gone: nothing to do
    }
    let deadline = exec.deadline_at.unwrap_or(now + EXECUTION_TIMEOUT_MS);
    let Some(version) = workflows::version(&team, &exec.workflow_id, exec.workflow_version).await?
    else {
        let error = StepError::new(
            "workflow_missing",
            "The workflow version this execution runs no longer exists.",
        );
        return finish(env, &team, &exec, "failed", Some(&error)).await;
    };
    let definition: Value = serde_json::from_str(&version.steps).unwrap_or(Value::Null);
    // Saved definitions were validated; URL safety is enforced again when each step runs.
    let steps = match parse_steps(Some(&definition), true) {
        Ok(steps) => steps,
        Err(_) => {
            let error = StepError::new(
                "invalid_workflow",
                "The stored workflow definition is not valid.",
            );
            return finish(env, &team, &exec, "failed", Some(&error)).await;
        }
    };
    let input: Value = serde_json::from_str(&exec.input).unwrap_or(json!({}));
    let settings = Settings::from_env(env);

    let mut outputs: HashMap<String, String> = HashMap::new();
    for row in executions::steps(&team, &exec.id).await? {
        match row.status.as_str() {
            "succeeded" => {
                outputs.insert(row.step_id, row.output.unwrap_or_default());
            }
            // A failed, cancelled or skipped step means the execution is over or ending.
            "failed" | "cancelled" | "skipped" => return Ok(()),
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
            return finish(env, &team, &exec, "timed_out", Some(&error)).await;
        }
        let lease = now + STEP_LEASE_MS;
        if !executions::claim_step(&db, &exec.id, &step.id, now, lease, MAX_STEP_ATTEMPTS).await? {
            return give_up_abandoned(env, &team, &exec, step, now).await;
        }
        match run_step(env, &team, &exec.id, step, &input, &outputs, &settings).await {
            Ok(output) => {
                let text = truncate(output.text, OUTPUT_LIMIT);
                record_success(&team, &exec, step, &text, output.usage.as_ref()).await?;
                outputs.insert(step.id.clone(), text);
            }
            Err(mut error) => {
                error.step_id = Some(step.id.clone());
                let error_json = serde_json::to_string(&error).unwrap_or_default();
                db.batch(vec![executions::step_failed(
                    &db,
                    &exec.id,
                    &step.id,
                    &error_json,
                    now_ms(),
                )?])
                .await?;
                return finish(env, &team, &exec, "failed", Some(&error)).await;
            }
        }
    }
    finish(env, &team, &exec, "succeeded", None).await
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
    let (db, id) = (team.db, &exec.id);
    if executions::fail_abandoned_step(db, id, &step.id, &error_json, now, MAX_STEP_ATTEMPTS)
        .await?
    {
        return finish(env, team, exec, "failed", Some(&error)).await;
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
        StepKind::Http(http_step) => http::run(http_step, input, &earlier, settings).await,
    }
}

async fn record_success(
    team: &Team<'_>,
    exec: &ExecutionRow,
    step: &Step,
    text: &str,
    usage: Option<&Usage>,
) -> worker::Result<()> {
    let now = now_ms();
    let tokens = usage.map(|u| serde_json::to_string(&tokens_json(&u.tokens)).unwrap_or_default());
    let mut charge = match usage {
        Some(u) => Some(cost::charge(team, exec, &step.id, step.agent(), u, now)?),
        None => None,
    };
    let mut statements = vec![executions::step_succeeded(
        team.db,
        &exec.id,
        &step.id,
        text,
        tokens.as_deref(),
        charge.as_ref().and_then(|c| c.cost_nusd),
        now,
    )?];
    if let Some(c) = &mut charge {
        statements.append(&mut c.statements);
    }
    let results = team.db.batch(statements).await?;
    if let Some(c) = &charge {
        cost::announce(team, c, results.last()).await;
    }
    Ok(())
}

pub fn tokens_json(t: &Tokens) -> Value {
    json!({"input": t.input, "cache_read": t.cache_read, "cache_write": t.cache_write, "output": t.output,
           "reasoning": t.reasoning, "total": t.total()})
}

async fn finish(
    env: &Env,
    team: &Team<'_>,
    exec: &ExecutionRow,
    status: &str,
    error: Option<&StepError>,
) -> worker::Result<()> {
    let error_json = error.map(|e| serde_json::to_string(e).unwrap_or_default());
    let results = team
        .db
        .batch(executions::finish(
            team,
            &exec.id,
            status,
            error_json.as_deref(),
            now_ms(),
        )?)
        .await?;
    if crate::store::changes(&results[0]) > 0 {
        hooks::execution_finished(env, team, exec, status, error).await;
    }
    Ok(())
}

/// Sends an outbound request with the step time limit; `who` names the other side in errors.
pub async fn fetch_with_timeout(
    request: worker::Request,
    who: &str,
) -> Result<worker::Response, StepError> {
    let signal: worker::AbortSignal =
        web_sys::AbortSignal::timeout_with_u32(STEP_TIMEOUT_MS as u32).into();
    match worker::Fetch::Request(request)
        .send_with_signal(&signal)
        .await
    {
        Ok(r) => Ok(r),
        Err(_) if signal.aborted() => Err(StepError::new(
            "timeout",
            format!("{who} did not answer within 60 s."),
        )),
        Err(_) => Err(StepError::new(
            "network",
            format!("{who} could not be reached."),
        )),
    }
}

/// Cuts `text` to at most `limit` bytes on a character boundary.
pub fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Re-sends executions whose queue message may have been lost (cron housekeeping).
pub async fn sweep_stalled(env: &Env, db: &Db, limit: u32) -> worker::Result<usize> {
    let stalled = executions::stalled(db, now_ms(), limit).await?;
    for s in &stalled {
        enqueue(
            env,
            &Job {
                execution_id: s.id.clone(),
                team_id: s.team_id.clone(),
            },
        )
        .await?;
    }
    Ok(stalled.len())
}
