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
use crate::platform::setting;
use crate::store::{quota, Team};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Executions started through the API (`execute`, `retry`), per minute.
    Executions,
    /// Telemetry events and metric samples received, per minute.
    TelemetryEvents,
    /// OTLP spans received, per minute (taken by the trace receiver).
    #[allow(dead_code)] // until the OTLP route lands (#14)
    Spans,
    /// Invites sent, per day.
    Invites,
    /// Schedules a team holds (a count, not a rate).
    Schedules,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Executions => "executions",
            Kind::TelemetryEvents => "telemetry_events",
            Kind::Spans => "spans",
            Kind::Invites => "invites",
            Kind::Schedules => "schedules",
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
        }
    }

    fn window_ms(self) -> i64 {
        match self {
            Kind::Invites => 86_400_000,
            _ => 60_000,
        }
    }
}

/// The limit for `kind` on this deployment; `None` when turned off.
pub fn limit(env: &Env, kind: Kind) -> Option<i64> {
    let (name, default) = kind.setting();
    let value = setting(env, name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(default);
    (value > 0).then_some(value)
}

/// Takes `n` of `kind` from the team's quota for the current window, or answers `429` with the
/// seconds until the window turns (`Retry-After`). Nothing is taken when the answer is 429.
pub async fn take(env: &Env, team: &Team<'_>, kind: Kind, n: i64) -> ApiResult<()> {
    let Some(max) = limit(env, kind) else {
        return Ok(());
    };
    if n <= 0 {
        return Ok(());
    }
    let now = crate::platform::now_ms();
    let window = kind.window_ms();
    let start = now - now.rem_euclid(window);
    if n > max || !quota::take(team, kind.name(), start, n, max).await? {
        return Err(ApiError::RateLimited {
            retry_after_s: (start + window - now + 999) / 1000,
        });
    }
    Ok(())
}
