//! Workflows: versioned definitions of `llm` and `http` steps, and running them.

use crate::platform::allow_private_upstreams;
use serde_json::{json, Value};
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx, BODY_LIMIT};
use super::quota::{self, Kind};
use super::respond;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::domain::workflow::{key_ids, parse_steps, Step};
use crate::engine::headers::{self, SealError};
use crate::engine::{self, Start};
use crate::platform::new_id;
use crate::store::activity::Event;
use crate::store::workflows::{self, NewWorkflow};
use crate::store::{changes, Team};

/// Parses `steps` and checks that every `key_id` is one of the team's live provider keys.
async fn read_steps(
    cx: &Ctx,
    team: &Team<'_>,
    value: Option<&Value>,
) -> ApiResult<Result<Vec<Step>, Vec<FieldError>>> {
    let steps = match parse_steps(value, allow_private_upstreams(&cx.env)) {
        Ok(steps) => steps,
        Err(errors) => return Ok(Err(errors)),
    };
    let wanted = key_ids(&steps);
    let ids: Vec<&str> = wanted.iter().map(|(_, id)| *id).collect();
    let known = if ids.is_empty() {
        Vec::new()
    } else {
        workflows::known_keys(team, &ids).await?
    };
    let missing: Vec<FieldError> = wanted
        .iter()
        .filter(|(_, id)| !known.iter().any(|k| k == id))
        .map(|(i, _)| {
            FieldError::new(
                &format!("steps[{i}].key_id"),
                "is not one of the team's provider keys",
            )
        })
        .collect();
    Ok(if missing.is_empty() {
        Ok(steps)
    } else {
        Err(missing)
    })
}

/// The definition as stored: header values sealed (a `"<redacted>"` one keeps what `current`,
/// the stored definition being edited, holds).
async fn stored_steps(
    cx: &Ctx,
    team: &Team<'_>,
    workflow_id: &str,
    steps: &[Step],
    current: Option<&str>,
) -> ApiResult<String> {
    let mut value = Value::Array(steps.iter().map(Step::to_json).collect());
    let current: Option<Value> = current.and_then(|c| serde_json::from_str(c).ok());
    let sealed = headers::seal(
        &cx.env,
        team.id().as_str(),
        workflow_id,
        &mut value,
        current.as_ref(),
    );
    match sealed.await {
        Ok(()) => Ok(value.to_string()),
        Err(SealError::Invalid(errors)) => Err(ApiError::Validation(errors)),
        Err(SealError::Vault(e)) => Err(e.into()),
    }
}

fn event<'a>(action: &'a str, id: &'a str, detail: Value) -> Event<'a> {
    Event {
        action,
        target_type: "workflow",
        target_id: Some(id),
        detail,
    }
}

/// GET /api/workflows
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let rows = workflows::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |w| w.id.clone());
    Ok(respond::page(&rows, next))
}

/// GET /api/workflows/:id
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let wf = workflows::get(&caller.team(&cx.db), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&wf.to_json()))
}

/// POST /api/workflows {name, description?, steps}
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let mut f = Fields::new(&body)?;
    let name = f.text("name", 200);
    let description = f.optional_text("description", 2000);
    let steps = match read_steps(cx, &team, f.value("steps")).await? {
        Ok(steps) => Some(steps),
        Err(errors) => {
            f.extend(errors);
            None
        }
    };
    let (name, steps) = f.finish((name, steps))?;
    let id = new_id()?;
    let steps = stored_steps(cx, &team, &id, &steps, None).await?;
    let new = NewWorkflow {
        id: &id,
        name: &name,
        description: description.as_deref(),
        steps: &steps,
        created_by: &caller.user_id,
    };
    let created = event("workflow.created", &id, json!({"name": name, "version": 1}));
    let change = workflows::insert(&team, &new, cx.now)?;
    audit::commit(cx, &caller, change, created, Logged::Always).await?;
    let wf = workflows::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::created(&wf.to_json()))
}

/// PATCH /api/workflows/:id {name?, description?, steps?} — every edit is a new version.
pub async fn update(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let current = workflows::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut f = Fields::new(&body)?;
    if !["name", "description", "steps"].iter().any(|k| f.has(k)) {
        f.error("body", "give at least one of name, description, steps");
    }
    let name = if f.has("name") {
        f.text("name", 200)
    } else {
        Some(current.name.clone())
    };
    let description = if f.has("description") {
        f.optional_text("description", 2000)
    } else {
        current.description.clone()
    };
    let steps = if f.has("steps") {
        match read_steps(cx, &team, f.value("steps")).await? {
            Ok(steps) => Some(Some(steps)),
            Err(errors) => {
                f.extend(errors);
                None
            }
        }
    } else {
        Some(None)
    };
    let (name, steps) = f.finish((name, steps))?;
    let steps = match steps {
        Some(steps) => stored_steps(cx, &team, &id, &steps, Some(&current.steps)).await?,
        None => current.steps.clone(),
    };
    let change = workflows::update(&team, &id, &name, description.as_deref(), &steps, cx.now)?;
    // The version this edit makes; the entry is written only if the edit was.
    let detail = json!({"name": name, "version": current.version + 1});
    let updated = event("workflow.updated", &id, detail);
    let results = audit::commit(cx, &caller, change, updated, Logged::IfChanged).await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    let wf = workflows::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&wf.to_json()))
}

/// DELETE /api/workflows/:id — its executions keep their history.
pub async fn delete(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let change = vec![workflows::delete(&team, &id, cx.now)?];
    let deleted = event("workflow.deleted", &id, json!({}));
    let results = audit::commit(cx, &caller, change, deleted, Logged::IfChanged).await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(respond::no_content())
}

/// POST /api/workflows/:id/execute {input} — 202 `{execution_id}`; an `Idempotency-Key` header
/// makes a repeat answer the same execution.
pub async fn execute(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let wf = workflows::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut f = Fields::new(&body)?;
    let input = match f.value("input") {
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            f.error("input", "must be a JSON object");
            None
        }
        None => {
            f.error(
                "input",
                "is required (send {} when the workflow takes none)",
            );
            None
        }
    };
    let key = cx.header("idempotency-key");
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        f.error("Idempotency-Key", "must be 1 to 200 characters");
    }
    let (input,) = f.finish((input,))?;
    // A key names a run of this workflow: stored with the workflow's id, so the same key sent to
    // another workflow starts that one instead of answering this one's execution.
    let key = key.map(|k| format!("{id}:{k}"));
    quota::take(&cx.env, &team, Kind::Executions, 1).await?;
    let start = Start {
        triggered_by: Some(&caller.user_id),
        idempotency_key: key.as_deref(),
        ..Start::current(&wf, &input)
    };
    let execution_id = engine::start(&cx.env, &team, &start, cx.now).await?;
    Ok(respond::json(202, &json!({"execution_id": execution_id})))
}
