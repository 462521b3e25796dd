//! Money around each LLM call. Before the call, [`prepare`] looks up the price it will be charged
//! at and, when the team enforces its budget, reserves the call's worst case against the month
//! (refusing the step if that would overshoot). After it, [`charge`] prices the real tokens and
//! gives the statements that record the usage row, settle the reservation, add the spending and
//! note any budget threshold crossed; [`announce`] hands those crossings to the hooks.
//!
//! [`reprice`] is the cron task that follows corrections to the price table: every usage row
//! priced before a price row last changed, and that row may price (or did price), is worked out
//! again — a bounded number per tick.

use serde_json::{json, Value};
use worker::D1PreparedStatement;

use super::{hooks, StepError, Usage};
use crate::domain::calendar::month_of;
use crate::domain::pricing::{choose, prompt_tokens_estimate, usd_text, Price};
use crate::platform::new_id;
use crate::store::budgets;
use crate::store::executions::ExecutionRow;
use crate::store::usage::{self, NewUsage, Priced};
use crate::store::D1Result;
use crate::store::{pricing, Db, Team, Text};

/// Output tokens assumed, when reserving, for a step without `max_tokens` that goes to a
/// provider with no cap of its own (OpenAI).
pub const UNCAPPED_OUTPUT_TOKENS: u32 = 4096;

/// Price rows looked at per re-pricing tick; usage rows re-priced per tick is the caller's limit.
const CHANGED_PER_TICK: u32 = 20;
/// Price rows written this recently are looked at again on the next tick, so a write that races
/// a tick is never skipped.
const SETTLE_MS: i64 = 60_000;

/// What was settled before a call.
#[derive(Debug, Default)]
pub struct Plan {
    /// The row the call will be priced at; `None`: its cost will be unknown.
    pub price: Option<Price>,
    pub priced_at: i64,
    /// The month and nano-USD held of its budget.
    pub reserved: Option<(String, i64)>,
}

fn unreadable(e: worker::Error) -> StepError {
    worker::console_error!("engine: price or budget: {e}");
    StepError::new("internal", "The price or the budget could not be read.")
}

/// The call's price and, under an enforced budget, its reservation.
pub async fn prepare(
    team: &Team<'_>,
    (execution_id, step_id): (&str, &str),
    model: &str,
    prompt_bytes: usize,
    max_output: u32,
    now: i64,
) -> Result<Plan, StepError> {
    let prices = pricing::for_models(team, &[model])
        .await
        .map_err(unreadable)?;
    let mut plan = Plan {
        price: choose(&prices, team.id().as_str(), model, now).cloned(),
        priced_at: now,
        reserved: None,
    };
    let budget = budgets::get(team).await.map_err(unreadable)?;
    let worst = hold_for(
        plan.price.as_ref(),
        budget.as_ref(),
        model,
        prompt_bytes,
        max_output.into(),
    )
    .map_err(|m| StepError::new("budget_exceeded", m))?;
    let (Some(worst), Some(budget)) = (worst, budget) else {
        return Ok(plan);
    };
    let month = month_of(now).key;
    if !budgets::reserve_for_step(team, &month, worst, execution_id, step_id)
        .await
        .map_err(unreadable)?
    {
        return Err(StepError::new(
            "budget_exceeded",
            over_budget("step", worst, &budget),
        ));
    }
    plan.reserved = Some((month, worst));
    Ok(plan)
}

/// What a call of `model` must hold of an enforced budget before it is made: its worst case
/// (every prompt byte's token estimate, `max_output` tokens out, at the dearest rates); `None`
/// when no budget is enforced; a refusal for a person when the model has no price to reserve at.
pub fn hold_for(
    price: Option<&Price>,
    budget: Option<&budgets::Budget>,
    model: &str,
    prompt_bytes: usize,
    max_output: i64,
) -> Result<Option<i64>, String> {
    if budget.is_none_or(|b| b.enforce != 1) {
        return Ok(None);
    }
    let price = price.ok_or_else(|| {
        format!("The budget is enforced and model {model} has no price to reserve; add a price override for it.")
    })?;
    Ok(Some(price.worst_case_nusd(
        prompt_tokens_estimate(prompt_bytes),
        max_output,
    )))
}

/// Why a call whose worst case did not fit was refused, for a person.
pub fn over_budget(what: &str, worst: i64, budget: &budgets::Budget) -> String {
    format!(
        "This {what} could cost up to ${}, more than is left of the monthly budget of ${}.",
        usd_text(worst),
        usd_text(budget.monthly_nusd)
    )
}

/// Gives back the step's reservation when the call did not happen or failed.
pub async fn release(team: &Team<'_>, (execution_id, step_id): (&str, &str), plan: &Plan) {
    if plan.reserved.is_none() {
        return;
    }
    let result = match budgets::release_step(team, execution_id, step_id, None) {
        Ok(statements) => team.db().batch(statements).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        worker::console_error!("engine: releasing a budget reservation: {e}");
    }
}

/// A call's cost and the statements that record it; the threshold crossings, when priced, are
/// the last statement.
pub struct Charge {
    pub cost_nusd: Option<i64>,
    pub statements: Vec<D1PreparedStatement>,
    month: String,
}

/// Prices the call's real tokens (at write time, with the row chosen for it) and records it.
pub fn charge(
    team: &Team,
    exec: &ExecutionRow,
    step_id: &str,
    agent: Option<&str>,
    u: &Usage,
    now: i64,
) -> worker::Result<Charge> {
    let cost_nusd = u.plan.price.as_ref().map(|p| p.cost_nusd(&u.tokens));
    let id = new_id()?;
    let row = NewUsage {
        id: &id,
        execution_id: &exec.id,
        workflow_id: &exec.workflow_id,
        step_id,
        agent,
        key_id: &u.key_id,
        provider: u.provider,
        model: &u.model,
        tokens: &u.tokens,
        cost_nusd,
        price_id: u.plan.price.as_ref().map(|p| p.id.as_str()),
        priced_at: u.plan.priced_at,
        gateway: None,
    };
    let release = match u.plan.reserved {
        Some(_) => budgets::release_step(team, &exec.id, step_id, None)?,
        None => Vec::new(),
    };
    record(team, &row, release, now)
}

/// The statements that record a priced call (`row`): its usage row, `release` (giving back
/// what it held of the budget), its spending, and last the thresholds crossed.
pub fn record(
    team: &Team,
    row: &NewUsage,
    release: Vec<D1PreparedStatement>,
    now: i64,
) -> worker::Result<Charge> {
    let mut statements = vec![usage::insert(team, row, now)?];
    statements.extend(release);
    let month = month_of(now).key;
    if let Some(cost) = row.cost_nusd {
        statements.push(budgets::spend(team, &month, cost)?);
        statements.push(budgets::crossings(team, &month, now)?);
    }
    Ok(Charge {
        cost_nusd: row.cost_nusd,
        statements,
        month,
    })
}

/// Hands the thresholds [`charge`]'s batch crossed to the hooks (`last` is its last result).
pub async fn announce(team: &Team<'_>, charge: &Charge, last: Option<&D1Result>) {
    if charge.cost_nusd.is_some() {
        announce_crossings(team, &charge.month, last).await;
    }
}

/// Hands the thresholds that `crossings` (the result of [`budgets::crossings`] for `month`)
/// recorded to the hooks, each once.
pub async fn announce_crossings(team: &Team<'_>, month: &str, crossings: Option<&D1Result>) {
    let crossed: Vec<Text> = crossings
        .and_then(|r| crate::store::rows(r).ok())
        .unwrap_or_default();
    for alert in &crossed {
        let detail = alert.body.as_deref().unwrap_or("{}");
        hooks::budget_threshold_crossed(team, month, alert.n, detail).await;
    }
}

/// One re-pricing tick: answers how many usage rows it re-priced (at most `limit`).
pub async fn reprice(db: &Db, now: i64, limit: u32) -> worker::Result<usize> {
    let (mark_at, mark_id) = pricing::watermark(db).await?;
    let changed = pricing::changed_after(db, mark_at, &mark_id, CHANGED_PER_TICK).await?;
    let (mut left, mut done, mut through) = (limit, 0, None);
    for price in &changed {
        let rows = usage::stale(db, price, left).await?;
        if !rows.is_empty() {
            done += rewrite(db, &rows, now).await?;
        }
        if rows.len() >= left as usize {
            break; // there may be more: this row is looked at again next tick
        }
        left -= rows.len() as u32;
        through = Some((price.updated_at, price.id.as_str()));
    }
    if let Some((at, id)) = through {
        let mark = if at > now - SETTLE_MS {
            (now - SETTLE_MS, "")
        } else {
            (at, id)
        };
        if mark > (mark_at, mark_id.as_str()) {
            pricing::set_watermark(db, mark.0, mark.1).await?;
        }
    }
    Ok(done)
}

/// Works out the rows' costs again with the table as it is now.
async fn rewrite(db: &Db, rows: &[Priced], now: i64) -> worker::Result<usize> {
    let teams: Vec<&str> = rows.iter().map(|r| r.team_id.as_str()).collect();
    let prices = pricing::for_teams(db, &json!(teams).to_string()).await?;
    let changes: Vec<Value> = rows
        .iter()
        .map(|r| {
            let price = choose(&prices, &r.team_id, &r.model, r.created_at);
            let cost = price.map(|p| p.cost_nusd(&r.tokens()));
            json!({
                "id": r.id, "e": r.execution_id, "s": r.step_id, "c": cost, "p": price.map(|p| &p.id),
                "t": r.team_id, "a": r.created_at, "m": month_of(r.created_at).key,
                "d": cost.unwrap_or(0) - r.cost_nusd.unwrap_or(0),
            })
        })
        .collect();
    db.batch(usage::repriced(
        db,
        &Value::Array(changes).to_string(),
        now,
    )?)
    .await?;
    Ok(rows.len())
}
