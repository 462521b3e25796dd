//! The scheduled handler, fired every minute: records the tick (the health check reports it) and
//! does bounded housekeeping: expired sessions, old login failures, and re-wrapping provider
//! keys under the active master key, re-pricing usage rows after a price correction, retrying
//! queued mail. Scheduled
//! runs start here too.

use worker::{Env, ScheduledEvent};

use crate::platform::now_ms;
use crate::store::{identity, Db};
use crate::{api::auth::FAILURE_WINDOW_MS, args};

/// Provider keys re-wrapped per tick: bounded so a tick stays short.
const REWRAP_PER_TICK: u32 = 50;

/// Stalled executions re-sent to the queue per tick.
const SWEEP_PER_TICK: u32 = 100;

/// Queued mail sent per tick.
const MAIL_PER_TICK: u32 = 20;

/// Usage rows re-priced per tick.
const REPRICE_PER_TICK: u32 = 200;

pub async fn tick(_event: ScheduledEvent, env: Env) {
    if let Err(e) = run(&env).await {
        worker::console_error!("cron tick failed: {e}");
    }
}

async fn run(env: &Env) -> worker::Result<()> {
    let db = Db::new(env)?;
    let now = now_ms();
    db.run(
        "INSERT INTO app_state (key, value) VALUES ('cron_last_tick', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![now.to_string()],
    )
    .await?;
    identity::prune(&db, now, FAILURE_WINDOW_MS).await?;
    let started = crate::engine::scheduler::tick(env, &db, now).await?;
    if started > 0 {
        worker::console_log!("cron: started {started} scheduled runs");
    }
    let resent = crate::engine::sweep_stalled(env, &db, SWEEP_PER_TICK).await?;
    if resent > 0 {
        worker::console_log!("cron: re-sent {resent} stalled executions to the queue");
    }
    let moved = crate::vault::rewrap_batch(env, &db, REWRAP_PER_TICK).await?;
    if moved > 0 {
        worker::console_log!("cron: re-wrapped {moved} provider keys under the active master key");
    }
    let mailed = crate::mailer::retry_due(env, &db, now, MAIL_PER_TICK).await?;
    if mailed > 0 {
        worker::console_log!("cron: sent {mailed} queued messages");
    }
    let repriced = crate::engine::cost::reprice(&db, now, REPRICE_PER_TICK).await?;
    if repriced > 0 {
        worker::console_log!("cron: re-priced {repriced} usage rows after price changes");
    }
    Ok(())
}
