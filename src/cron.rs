//! The scheduled handler, fired every minute: records the tick (the health check reports it) and
//! does bounded housekeeping. Later features (schedules, re-wrapping, re-pricing) add their steps.

use worker::{Env, ScheduledEvent};

use crate::platform::now_ms;
use crate::store::{identity, Db};
use crate::{api::auth::FAILURE_WINDOW_MS, args};

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
    identity::prune(&db, now, FAILURE_WINDOW_MS).await
}
