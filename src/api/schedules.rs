//! Schedules: run a workflow on a crontab expression in a time zone. Expressions and zones are
//! checked when saved (422 with a message a person can act on), and `preview` shows the next
//! fire times before anything is saved.

use serde_json::{json, Value};
use worker::Response;

use super::audit::{self, Logged};
use super::error::{ApiError, ApiResult};
use super::extract::{path_id, Ctx, BODY_LIMIT};
use super::quota::{self, Kind};
use super::respond;
use crate::domain::fields::Fields;
use crate::domain::ids::parse_uuid;
use crate::domain::paging::paginate;
use crate::domain::role::Role;
use crate::domain::schedule::{next_run, next_runs, CronExpr};
use crate::platform::new_id;
use crate::store::activity::Event;
use crate::store::executions::{self, Filter};
use crate::store::schedules::{self, ScheduleRow, Settings};
use crate::store::{changes, workflows, Team};
use crate::tz;

const PREVIEW_DEFAULT: usize = 5;
const PREVIEW_MAX: usize = 50;

/// Settings read from a body, falling back to `current` for what a PATCH leaves out.
struct Owned {
    workflow_id: String,
    cron: String,
    timezone: String,
    enabled: bool,
    input: String,
    overlap: String,
}

async fn read_settings(
    team: &Team<'_>,
    body: &Value,
    current: Option<&ScheduleRow>,
) -> ApiResult<Owned> {
    let mut f = Fields::new(body)?;
    const NAMES: [&str; 6] = [
        "workflow_id",
        "cron",
        "timezone",
        "enabled",
        "input",
        "overlap",
    ];
    if current.is_some() && !NAMES.iter().any(|n| f.has(n)) {
        f.error("body", format!("give at least one of {}", NAMES.join(", ")));
    }
    let given = |f: &Fields, name: &str| current.is_none() || f.has(name);
    let workflow_id = if given(&f, "workflow_id") {
        f.text("workflow_id", 64).and_then(|raw| {
            parse_uuid(&raw).or_else(|| {
                f.error(
                    "workflow_id",
                    "must be the id of one of the team's workflows",
                );
                None
            })
        })
    } else {
        current.map(|c| c.workflow_id.clone())
    };
    let cron = if given(&f, "cron") {
        f.text("cron", 200).and_then(|raw| {
            CronExpr::parse(&raw)
                .map(|e| e.as_str().to_string())
                .map_err(|m| f.error("cron", m))
                .ok()
        })
    } else {
        current.map(|c| c.cron.clone())
    };
    let timezone = match (f.has("timezone"), current) {
        (true, _) | (false, None) => {
            let raw = if f.has("timezone") {
                f.text("timezone", 64)
            } else {
                Some("UTC".to_string())
            };
            raw.and_then(|name| {
                tz::zone(&name)
                    .map(|z| z.name().to_string())
                    .map_err(|m| f.error("timezone", m))
                    .ok()
            })
        }
        (false, Some(c)) => Some(c.timezone.clone()),
    };
    let enabled = match f.value("enabled") {
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            f.error("enabled", "must be true or false");
            None
        }
        None => Some(current.is_none_or(|c| c.enabled == 1)),
    };
    let input = match f.value("input") {
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            f.error("input", "must be a JSON object");
            None
        }
        None => Some(current.map_or_else(|| "{}".to_string(), |c| c.input.clone())),
    };
    let overlap = match f.value("overlap") {
        Some(Value::String(s)) if s == "skip" || s == "allow" => Some(s.clone()),
        Some(_) => {
            f.error("overlap", "must be skip or allow");
            None
        }
        None => Some(current.map_or_else(|| "skip".to_string(), |c| c.overlap.clone())),
    };
    if let Some(id) = &workflow_id {
        if workflows::get(team, id).await?.is_none() {
            f.error("workflow_id", "is not one of the team's workflows");
        }
    }
    let (workflow_id, cron, timezone, enabled, input, overlap) =
        f.finish((workflow_id, cron, timezone, enabled, input, overlap))?;
    Ok(Owned {
        workflow_id,
        cron,
        timezone,
        enabled,
        input,
        overlap,
    })
}

/// The next fire time after `now`, for an enabled schedule.
fn next_after(cron: &str, timezone: &str, enabled: bool, now: i64) -> ApiResult<Option<i64>> {
    if !enabled {
        return Ok(None);
    }
    let expr = CronExpr::parse(cron).map_err(|m| ApiError::field("cron", m))?;
    let zone = tz::zone(timezone).map_err(|m| ApiError::field("timezone", m))?;
    next_run(&expr, &zone, now).map_err(|m| ApiError::field("cron", m))
}

fn settings<'a>(o: &'a Owned, next_run_at: Option<i64>) -> Settings<'a> {
    Settings {
        workflow_id: &o.workflow_id,
        cron: &o.cron,
        timezone: &o.timezone,
        enabled: o.enabled,
        input: &o.input,
        overlap: &o.overlap,
        next_run_at,
    }
}

fn event<'a>(action: &'a str, id: &'a str, o: &Owned) -> Event<'a> {
    Event {
        action,
        target_type: "schedule",
        target_id: Some(id),
        detail: json!({"cron": o.cron, "timezone": o.timezone, "enabled": o.enabled, "workflow_id": o.workflow_id}),
    }
}

/// GET /api/schedules
pub async fn list(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let page = cx.page()?;
    let rows = schedules::list(&caller.team(&cx.db), &page).await?;
    let (rows, next) = paginate(rows, &page, |s| s.id.clone());
    let data: Vec<Value> = rows.iter().map(ScheduleRow::to_json).collect();
    Ok(respond::page(&data, next))
}

/// GET /api/schedules/:id
pub async fn get(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let s = schedules::get(&caller.team(&cx.db), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&s.to_json()))
}

/// POST /api/schedules {workflow_id, cron, timezone?, enabled?, input?, overlap?}
pub async fn create(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let o = read_settings(&team, &body, None).await?;
    let next = next_after(&o.cron, &o.timezone, o.enabled, cx.now)?;
    let id = new_id()?;
    let max = quota::limit(&cx.env, Kind::Schedules);
    let change = vec![schedules::insert(
        &team,
        &id,
        &settings(&o, next),
        &caller.user_id,
        max,
        cx.now,
    )?];
    let created = event("schedule.created", &id, &o);
    let results = audit::commit(cx, &caller, change, created, Logged::IfChanged).await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::field(
            "body",
            format!(
                "The team already has {} schedules, the most it may hold; delete one first.",
                max.unwrap_or_default()
            ),
        ));
    }
    let s = schedules::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::created(&s.to_json()))
}

/// PATCH /api/schedules/:id — any of the create fields; the next run is computed afresh.
pub async fn update(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let body = cx.json(BODY_LIMIT).await?;
    let team = caller.team(&cx.db);
    let current = schedules::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let o = read_settings(&team, &body, Some(&current)).await?;
    let next = next_after(&o.cron, &o.timezone, o.enabled, cx.now)?;
    let change = vec![schedules::update(&team, &id, &settings(&o, next), cx.now)?];
    let updated = event("schedule.updated", &id, &o);
    let results = audit::commit(cx, &caller, change, updated, Logged::IfChanged).await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    let s = schedules::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(respond::ok(&s.to_json()))
}

/// DELETE /api/schedules/:id — the executions it started stay.
pub async fn delete(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Member).await?;
    let id = path_id(raw_id)?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "schedule.deleted",
        target_type: "schedule",
        target_id: Some(&id),
        detail: json!({}),
    };
    let change = vec![schedules::delete(&team, &id)?];
    let results = audit::commit(cx, &caller, change, event, Logged::IfChanged).await?;
    if changes(&results[0]) == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(respond::no_content())
}

/// GET /api/schedules/:id/runs — the executions it started, newest first.
pub async fn runs(cx: &mut Ctx, raw_id: &str) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let id = path_id(raw_id)?;
    let page = cx.page()?;
    let team = caller.team(&cx.db);
    schedules::get(&team, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let filter = Filter {
        schedule_id: Some(id),
        ..Filter::default()
    };
    let found = executions::list_json(&team, &filter, &page).await?;
    Ok(super::executions::page_json(found))
}

/// GET /api/schedules/preview?cron=&timezone=&count= — `{times}`, ascending.
pub async fn preview(cx: &mut Ctx) -> ApiResult<Response> {
    cx.require(Role::Viewer).await?;
    let cron = cx
        .query("cron")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::field("cron", "is required"))?;
    let expr = CronExpr::parse(cron).map_err(|m| ApiError::field("cron", m))?;
    let zone = tz::zone(
        cx.query("timezone")
            .filter(|t| !t.is_empty())
            .unwrap_or("UTC"),
    )
    .map_err(|m| ApiError::field("timezone", m))?;
    let count = match cx.query("count").filter(|c| !c.is_empty()) {
        None => PREVIEW_DEFAULT,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= 1 => (n as usize).min(PREVIEW_MAX),
            _ => {
                return Err(ApiError::field(
                    "count",
                    "must be a whole number of at least 1",
                ))
            }
        },
    };
    let times = next_runs(&expr, &zone, cx.now, count).map_err(|m| ApiError::field("cron", m))?;
    Ok(respond::ok(
        &json!({"times": times, "timezone": zone.name()}),
    ))
}
