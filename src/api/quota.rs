//! Per-team quotas (spec, "Abuse and hardening"): how much of a kind of work one team may start in
//! a fixed window, so no tenant can crowd out the others. Each limit is a deployment variable
//! (`0` turns it off; `make dev` turns the per-minute ones off so load tests measure Beacon);
//! unset, the spec's value applies. Counting is one atomic D1 statement per call: concurrent
//! requests cannot all slip under the limit.
//!
//! The count quota (schedules per team) is not a rate: [`limit`] gives it to the schedule store,
//! which guards its INSERT with it.

use worker::Env;

use super::error::{ApiError, ApiResult};
use crate::platform::number;
use crate::store::{quota, Db, Team};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Executions started through the API (`execute`, `retry`), per minute.
    Executions,
    /// Telemetry events and metric samples received, per minute.
    TelemetryEvents,
    /// OTLP spans received, per minute (taken by the trace receiver).
    Spans,
    /// Invites sent, per day.
    Invites,
    /// Schedules a team holds (a count, not a rate).
    Schedules,
    /// LLM gateway calls per access token, per minute (counted under the token, not the team).
    GatewayCalls,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Executions => "executions",
            Kind::TelemetryEvents => "telemetry_events",
            Kind::Spans => "spans",
            Kind::Invites => "invites",
            Kind::Schedules => "schedules",
            Kind::GatewayCalls => "gateway",
        }
    }

    /// The deployment variable that sets it, and the spec's value when it is unset.
    fn setting(self) -> (&'static str, i64) {
        match self {
            Kind::Executions => ("QUOTA_EXECUTIONS_PER_MINUTE", 120),
            Kind::TelemetryEvents => ("QUOTA_TELEMETRY_EVENTS_PER_MINUTE", 600_000),
            Kind::Spans => ("QUOTA_SPANS_PER_MINUTE", 600_000),
            Kind::Invites => ("QUOTA_INVITES_PER_DAY", 50),
            Kind::Schedules => ("QUOTA_SCHEDULES", 100),
            Kind::GatewayCalls => ("QUOTA_GATEWAY_CALLS_PER_MINUTE", 600),
        }
    }

    pub fn window_ms(self) -> i64 {
        match self {
            Kind::Invites => 86_400_000,
            _ => 60_000,
        }
    }
}

/// The limit for `kind` on this deployment; `None` when turned off.
pub fn limit(env: &Env, kind: Kind) -> Option<i64> {
    let (name, default) = kind.setting();
    let value = number(env, name).unwrap_or(default);
    (value > 0).then_some(value)
}

/// Takes `n` of `kind` from the team's quota for the current window, or answers `429` with the
/// seconds until the window turns (`Retry-After`). Nothing is taken when the answer is 429.
pub async fn take(env: &Env, team: &Team<'_>, kind: Kind, n: i64) -> ApiResult<()> {
    let Some(window) = window(env, kind, n)? else {
        return Ok(());
    };
    if !quota::take(team, kind.name(), window.start, n, window.max).await? {
        return Err(window.refused());
    }
    Ok(())
}

/// [`take`] in the same round trip as the handler's next write batch: the count is checked at
/// the batch's head and the batch fails when it is over; [`after_write`] turns that into 429.
pub fn take_with_write(
    env: &Env,
    team: &Team<'_>,
    kind: Kind,
    n: i64,
) -> ApiResult<Option<Window>> {
    let Some(window) = window(env, kind, n)? else {
        return Ok(None);
    };
    quota::must_take(team, kind.name(), window.start, n, window.max)?;
    Ok(Some(window))
}

/// The write's result, or 429 when the quota queued by [`take_with_write`] refused it.
pub fn after_write<T>(db: &Db, window: Option<Window>, result: worker::Result<T>) -> ApiResult<T> {
    match (window, result) {
        (Some(window), Err(_)) if db.quota_refused() => Err(window.refused()),
        (_, result) => Ok(result?),
    }
}

/// The current window of a quota that is on and asked for `n > 0`.
pub struct Window {
    start: i64,
    max: i64,
    retry_after_s: i64,
}

impl Window {
    fn refused(&self) -> ApiError {
        ApiError::RateLimited {
            retry_after_s: self.retry_after_s,
        }
    }
}

fn window(env: &Env, kind: Kind, n: i64) -> ApiResult<Option<Window>> {
    let Some(max) = limit(env, kind) else {
        return Ok(None);
    };
    if n <= 0 {
        return Ok(None);
    }
    let now = crate::platform::now_ms();
    let length = kind.window_ms();
    let start = now - now.rem_euclid(length);
    let window = Window {
        start,
        max,
        retry_after_s: (start + length - now + 999) / 1000,
    };
    if n > max {
        return Err(window.refused());
    }
    Ok(Some(window))
}
