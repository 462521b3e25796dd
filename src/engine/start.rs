//! Starting a run: the pending execution and its steps are recorded in one batch, then the run
//! is sent to the queue.

use js_sys::Reflect;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::Queue as QueueSys;
use worker::{Env, Queue};

use crate::domain::ids::{TeamId, UserId};
use crate::platform::new_id;
use crate::store::executions;
use crate::store::workflows::WorkflowRow;
use crate::store::Team;

/// The queue message: which execution to advance.
#[derive(Debug, Clone)]
pub struct Job {
    pub execution_id: String,
    pub team_id: TeamId,
}

impl Job {
    /// A message's body as the queue hands it over (the object `enqueue` sent), read with
    /// `Reflect`; `None` when it is not one.
    pub fn from_js(body: &JsValue) -> Option<Job> {
        let text = |name: &str| {
            Reflect::get(body, &JsValue::from_str(name))
                .ok()?
                .as_string()
        };
        Some(Job {
            execution_id: text("execution_id")?,
            team_id: TeamId::new(text("team_id")?),
        })
    }

    /// The message's body: a plain object of the two ids, built with `Reflect` (the worker
    /// crate's `Queue::send` goes through serde for it).
    fn to_js(&self) -> JsValue {
        let body = js_sys::Object::new();
        for (name, value) in [
            ("execution_id", self.execution_id.as_str()),
            ("team_id", self.team_id.as_str()),
        ] {
            let _ = Reflect::set(&body, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        body.into()
    }
}

/// Sends an execution to the queue.
pub async fn enqueue(env: &Env, job: &Job) -> worker::Result<()> {
    let queue: Queue = env.queue("EXECUTIONS")?;
    let queue: &QueueSys = queue.as_ref().unchecked_ref();
    let sent = queue.send(job.to_js(), JsValue::NULL)?;
    JsFuture::from(sent).await?;
    Ok(())
}

/// What to run: one version of a workflow, with its input and where the run came from.
pub struct Start<'a> {
    pub workflow_id: &'a str,
    pub version: i64,
    pub workflow_name: &'a str,
    /// The version's stored step definitions (JSON array).
    pub steps: &'a str,
    pub input: &'a Value,
    pub triggered_by: Option<&'a UserId>,
    pub idempotency_key: Option<&'a str>,
    pub retry_of: Option<&'a str>,
    pub schedule_id: Option<&'a str>,
}

impl<'a> Start<'a> {
    /// A run of the workflow's current version; the caller names where it came from.
    pub fn current(wf: &'a WorkflowRow, input: &'a Value) -> Start<'a> {
        Start {
            workflow_id: &wf.id,
            version: wf.version,
            workflow_name: &wf.name,
            steps: &wf.steps,
            input,
            triggered_by: None,
            idempotency_key: None,
            retry_of: None,
            schedule_id: None,
        }
    }
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
    let results = team
        .db()
        .batch(executions::create(team, &new, now)?)
        .await?;
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
            team_id: team.id().clone(),
        },
    )
    .await
    {
        worker::console_error!("engine: queueing execution {id}: {e} (the sweep will resend it)");
    }
    Ok(id)
}
