//! The price table: everyone on the team reads the defaults and the team's overrides; admins
//! replace the overrides. Rates are given and shown in US dollars per million tokens (and shown
//! in nano-USD per million tokens, as stored). A change re-prices the history it covers through
//! the cron task.

use serde_json::{json, Value};
use worker::Response;

use super::audit::{self, Logged};
use super::error::ApiResult;
use super::extract::{Ctx, BODY_LIMIT};
use super::respond;
use crate::domain::fields::Fields;
use crate::domain::pricing::{parse_pattern, rate_from_usd};
use crate::domain::range::parse_instant;
use crate::domain::role::Role;
use crate::platform::new_id;
use crate::store::activity::Event;
use crate::store::pricing::{self, NewPrice};

/// Overrides a team may keep.
const MAX_OVERRIDES: usize = 200;
const RATES: [&str; 5] = ["input", "cache_read", "cache_write", "output", "reasoning"];

/// GET /api/pricing — `{unit, defaults, overrides}`: the rows that price the team's calls.
pub async fn get(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Viewer).await?;
    let body = pricing::document_json(&caller.team(&cx.db)).await?;
    Ok(respond::raw_json(200, body))
}

/// One override from the body; errors are named `overrides[i].field`.
fn read_override(f: &mut Fields, i: usize, item: &Value) -> Option<NewPrice> {
    let at = |name: &str| format!("overrides[{i}].{name}");
    let Value::Object(obj) = item else {
        f.error(&at("item"), "must be a JSON object");
        return None;
    };
    let pattern = match obj.get("model_pattern").and_then(Value::as_str) {
        Some(raw) => parse_pattern(raw.trim())
            .map_err(|m| f.error(&at("model_pattern"), m))
            .ok(),
        None => {
            f.error(&at("model_pattern"), "is required, as a string");
            None
        }
    };
    let mut rates = [None; 5];
    for (slot, name) in rates.iter_mut().zip(RATES) {
        let key = format!("{name}_usd");
        match obj.get(&key) {
            None | Some(Value::Null) if name == "input" || name == "output" => {
                f.error(&at(&key), "is required");
            }
            None | Some(Value::Null) => {}
            Some(v) => match v.as_f64().and_then(rate_from_usd) {
                Some(nusd) => *slot = Some(nusd),
                None => f.error(
                    &at(&key),
                    "must be a number of US dollars per million tokens, 0 to 1000000",
                ),
            },
        }
    }
    let effective_from = match obj.get("effective_from") {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_i64().filter(|ms| *ms >= 0),
        Some(Value::String(s)) => parse_instant(s),
        Some(_) => None,
    };
    if effective_from.is_none() {
        f.error(
            &at("effective_from"),
            "must be epoch milliseconds or an RFC 3339 time",
        );
    }
    let source = match obj.get("source") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.chars().count() <= 500 => Some(Some(s.trim().to_string())),
        Some(_) => {
            f.error(&at("source"), "must be a string of at most 500 characters");
            None
        }
    };
    let [input, cache_read, cache_write, output, reasoning] = rates;
    Some(NewPrice {
        id: String::new(),
        model_pattern: pattern?,
        input: input?,
        cache_read,
        cache_write,
        output: output?,
        reasoning,
        effective_from: effective_from?,
        source: source?,
    })
}

/// PUT /api/pricing {overrides: [{model_pattern, input_usd, output_usd, cache_read_usd?,
/// cache_write_usd?, reasoning_usd?, effective_from?, source?}]} — replaces the team's overrides
/// (an empty list removes them). Rates are US dollars per million tokens; `effective_from`
/// defaults to 0, so an override re-prices the team's whole history.
pub async fn put(cx: &mut Ctx) -> ApiResult<Response> {
    let caller = cx.require(Role::Admin).await?;
    let body = cx.json(BODY_LIMIT).await?;
    let mut f = Fields::new(&body)?;
    let items = match f.value("overrides") {
        Some(Value::Array(items)) if items.len() <= MAX_OVERRIDES => Some(items),
        Some(Value::Array(_)) => {
            f.error(
                "overrides",
                format!("may hold at most {MAX_OVERRIDES} rows"),
            );
            None
        }
        Some(_) => {
            f.error("overrides", "must be a list");
            None
        }
        None => {
            f.error(
                "overrides",
                "is required (an empty list removes every override)",
            );
            None
        }
    };
    let mut rows = Vec::new();
    for (i, item) in items.into_iter().flatten().enumerate() {
        if let Some(row) = read_override(&mut f, i, item) {
            let clash = rows.iter().any(|r: &NewPrice| {
                r.model_pattern == row.model_pattern && r.effective_from == row.effective_from
            });
            if clash {
                f.error(
                    &format!("overrides[{i}].model_pattern"),
                    "is given twice for the same effective_from",
                );
            }
            rows.push(row);
        }
    }
    let (mut rows,) = f.finish((Some(rows),))?;
    for row in &mut rows {
        row.id = new_id()?;
    }
    let team = caller.team(&cx.db);
    let patterns: Vec<&str> = rows.iter().map(|r| r.model_pattern.as_str()).collect();
    let event = Event {
        action: "pricing.updated",
        target_type: "team",
        target_id: Some(team.id().as_str()),
        detail: json!({ "overrides": patterns }),
    };
    let change = pricing::replace_overrides(&team, &rows, cx.now)?;
    audit::commit(cx, &caller, change, event, Logged::Always).await?;
    let body = pricing::document_json(&caller.team(&cx.db)).await?;
    Ok(respond::raw_json(200, body))
}
