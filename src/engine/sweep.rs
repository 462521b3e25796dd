//! Re-sending runs whose queue message may have been lost (cron housekeeping).

use worker::Env;

use super::start::{enqueue, Job};
use crate::platform::now_ms;
use crate::store::{transitions, Db};

/// Re-sends executions whose queue message may have been lost (cron housekeeping).
pub async fn sweep_stalled(env: &Env, db: &Db, limit: u32) -> worker::Result<usize> {
    let stalled = transitions::stalled(db, now_ms(), limit).await?;
    for s in &stalled {
        enqueue(
            env,
            &Job {
                execution_id: s.id.clone(),
                team_id: s.team_id.clone(),
            },
        )
        .await?;
    }
    Ok(stalled.len())
}
