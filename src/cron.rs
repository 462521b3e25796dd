//! The scheduled handler, fired every minute. It records the tick (the health check reports it),
//! starts due scheduled runs, and does bounded housekeeping: re-sending stalled executions,
//! expired sessions and old login failures, rows of dead live streams, quota windows long past,
//! re-wrapping provider keys under the active master key, retrying queued mail and re-pricing
//! usage rows after a price correction, and deleting what is past each team's retention. Each
//! task runs and reports on its own: one that fails does not stop the others.

use futures_util::future::{FutureExt, LocalBoxFuture};
use worker::{Env, ScheduledEvent};

use crate::domain::lifecycle::{Chunks, CHUNKS};
use crate::domain::password::FAILURE_WINDOW_MS;
use crate::engine::{cost, scheduler, sweep_stalled};
use crate::mailer;
use crate::platform::now_ms;
use crate::store::{budgets, health, identity, keys, lifecycle, quota, streams, Db};
use crate::vault::{self, VaultError};

/// Provider keys re-wrapped per tick: bounded so a tick stays short.
const REWRAP_PER_TICK: u32 = 50;

/// Stalled executions re-sent to the queue per tick.
const SWEEP_PER_TICK: u32 = 100;

/// Queued mail sent per tick.
const MAIL_PER_TICK: u32 = 20;

/// Longer than any gateway call can take: a hold this old belongs to a call that died.
const GATEWAY_HOLD_MS: i64 = 15 * 60_000;

/// Usage rows re-priced per tick.
const REPRICE_PER_TICK: u32 = 200;

pub async fn tick(_event: ScheduledEvent, env: Env) {
    let db = match Db::new(&env) {
        Ok(db) => db,
        Err(e) => {
            worker::console_error!("cron: no database: {e}");
            return;
        }
    };
    let (env, db, now) = (&env, &db, now_ms());
    // (name, what its count counts, the work): run in this order, each on its own.
    let tasks: [(&str, &str, LocalBoxFuture<'_, worker::Result<usize>>); 11] = [
        (
            "tick",
            "",
            async move { health::record_tick(db, now).await.map(|()| 0) }.boxed_local(),
        ),
        (
            "scheduler",
            "scheduled runs started",
            scheduler::tick(env, db, now).boxed_local(),
        ),
        (
            "sweep",
            "stalled executions re-sent to the queue",
            sweep_stalled(env, db, SWEEP_PER_TICK).boxed_local(),
        ),
        (
            "sessions",
            "",
            async move {
                identity::prune(db, now, FAILURE_WINDOW_MS)
                    .await
                    .map(|()| 0)
            }
            .boxed_local(),
        ),
        (
            "streams",
            "",
            async move { streams::prune(db, now).await.map(|()| 0) }.boxed_local(),
        ),
        (
            "quotas",
            "",
            async move { quota::prune(db, now).await.map(|()| 0) }.boxed_local(),
        ),
        (
            "gateway holds",
            "budget holds of gateway calls that never settled given back",
            budgets::release_stale_calls(db, now - GATEWAY_HOLD_MS).boxed_local(),
        ),
        (
            "re-wrap",
            "provider keys re-wrapped under the active master key",
            rewrap_keys(env, db, REWRAP_PER_TICK).boxed_local(),
        ),
        (
            "mail",
            "queued messages sent",
            mailer::retry_due(env, db, now, MAIL_PER_TICK).boxed_local(),
        ),
        (
            "re-price",
            "usage rows re-priced after price changes",
            cost::reprice(db, now, REPRICE_PER_TICK).boxed_local(),
        ),
        ("retention", "", retention(env, db, now).boxed_local()),
    ];
    for (name, done, work) in tasks {
        match work.await {
            Ok(n) if n > 0 && !done.is_empty() => worker::console_log!("cron: {n} {done}"),
            Ok(_) => {}
            Err(e) => worker::console_error!("cron: {name} failed: {e}"),
        }
    }
}

/// Re-wraps up to `limit` secrets sealed with an older master key under the active one; once
/// none are left, the old master key can be removed from the configuration. Answers how many
/// moved.
async fn rewrap_keys(env: &Env, db: &Db, limit: u32) -> worker::Result<usize> {
    let master = match vault::master_keys(env) {
        Ok(k) => k,
        // No vault configured: nothing to re-wrap.
        Err(VaultError::NotConfigured(_)) => return Ok(0),
        Err(e) => return Err(worker::Error::RustError(e.to_string())),
    };
    let mut moved = 0;
    for row in keys::stale(db, master.active_id(), limit).await? {
        let team_id = row.team_id.as_str();
        let result = async {
            let plain = vault::open(&master, team_id, &row.id, &row.secret).await?;
            vault::seal(&master, team_id, &row.id, plain.expose()).await
        }
        .await;
        match result {
            Ok(sealed) => moved += keys::rewrap(db, &row, &sealed, master.active_id()).await?,
            // Left in place and reported: its master key is missing or the row was tampered with.
            Err(e) => {
                worker::console_error!("vault re-wrap: key {} of team {team_id}: {e}", row.id)
            }
        }
    }
    Ok(moved)
}

/// Deletes a chunk of each kind of row past its team's retention (the rest goes on later ticks)
/// and says what went. `RETENTION_CHUNK` (events a tick, 5,000 unless set) sizes the chunks.
async fn retention(env: &Env, db: &Db, now: i64) -> worker::Result<usize> {
    let chunks = crate::platform::number(env, "RETENTION_CHUNK")
        .filter(|&n| n > 0)
        .map_or(CHUNKS, Chunks::of);
    let p = lifecycle::prune(db, now, chunks).await?;
    if p.total() > 0 {
        worker::console_log!(
            "cron: retention deleted {} events, {} metric samples, {} spans of {} traces, {} executions, {} feed rows",
            p.events, p.metrics, p.spans, p.traces, p.executions, p.feed
        );
    }
    Ok(p.total())
}
