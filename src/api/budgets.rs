//! The team's monthly budget (UTC calendar months): everyone on the team reads it with this
//! month's spending and the thresholds crossed; admins set it. Crossing 50, 80 and 100 % raises a
//! notification once per threshold per month; with `enforce`, LLM steps that could overshoot it
//! are refused before they call the provider (see `engine::cost`).

use serde_json::{json, Value};
use worker::Response;

use super::audit::{self, Logged};
use super::error::ApiResult;
use super::extract::{Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::calendar::month_of;
use crate::domain::fields::Fields;
use crate::domain::pricing::usd;
use crate::domain::role::Role;
use crate::store::activity::Event;
use crate::store::budgets;

/// The largest budget: $9,000,000 a month. Amounts are nano-dollars, and D1 hands the Worker its
/// integers as JS numbers, exact only below 2^53 (a budget stored above it could not be read back:
/// every gateway call of the team would fail).
const MAX_BUDGET_NUSD: f64 = 9e15;

/// GET /api/budgets — the budget (`monthly_usd` null when none), this month's known spending,
/// what calls in flight hold of it, and the thresholds crossed this month.
pub async fn get(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let month = month_of(cx.now).key;
    let body = budgets::document_json(&caller.team(&cx.db), &month).await?;
    Ok(respond::raw_json(200, body))
}

/// PUT /api/budgets {monthly_usd, enforce} — `monthly_usd` a positive number of US dollars, or
/// null to remove the budget.
pub async fn put(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let monthly = match f.value("monthly_usd") {
        None if f.has("monthly_usd") => Some(None),
        None => {
            f.error("monthly_usd", "is required (null removes the budget)");
            None
        }
        Some(v) => match v.as_f64().map(|usd| (usd * 1e9).round()) {
            Some(nusd) if (1.0..=MAX_BUDGET_NUSD).contains(&nusd) => Some(Some(nusd as i64)),
            _ => {
                f.error(
                    "monthly_usd",
                    "must be a number of US dollars above 0 and at most 9,000,000, or null",
                );
                None
            }
        },
    };
    let enforce = match f.value("enforce") {
        Some(Value::Bool(b)) => Some(*b),
        _ => {
            f.error("enforce", "is required, true or false");
            None
        }
    };
    let (monthly, enforce) = f.finish((monthly, enforce))?;
    let team = caller.team(&cx.db);
    let event = Event {
        action: "budget.updated",
        target_type: "team",
        target_id: Some(team.id().as_str()),
        detail: json!({"monthly_usd": monthly.map(usd), "enforce": enforce}),
    };
    let change = vec![budgets::put(&team, monthly, enforce, cx.now)?];
    audit::commit(cx, &caller, change, event, Logged::Always).await?;
    let month = month_of(cx.now).key;
    let body = budgets::document_json(&caller.team(&cx.db), &month).await?;
    Ok(respond::raw_json(200, body))
}
