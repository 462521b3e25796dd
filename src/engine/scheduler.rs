//! The scheduler's part of the every-minute tick: claim each due slot once, start its execution
//! (or skip it when `overlap = skip` and the last run is still going), and move the schedule to
//! its next run after now — so after downtime a schedule runs once to catch up, not once per
//! missed slot.

use serde_json::Value;
use worker::Env;

use super::{hooks, Start};
use crate::domain::schedule::{next_run, CronExpr};
use crate::store::schedules::{self, ScheduleRow};
use crate::store::{workflows, Db, Team};
use crate::tz;

/// Due schedules handled per tick, unless the deployment says otherwise (`SCHEDULES_PER_TICK`).
const DUE_PER_TICK: u32 = 100;

/// Answers how many runs it started.
pub async fn tick(env: &Env, db: &Db, now: i64) -> worker::Result<usize> {
    let per_tick = crate::platform::number(env, "SCHEDULES_PER_TICK")
        .filter(|n: &u32| *n > 0)
        .unwrap_or(DUE_PER_TICK);
    let mut started = 0;
    for s in schedules::due(db, now, per_tick).await? {
        match run_due(env, db, &s, now).await {
            Ok(true) => started += 1,
            Ok(false) => {}
            Err(e) => worker::console_error!("scheduler: schedule {}: {e}", s.id),
        }
    }
    Ok(started)
}

async fn run_due(env: &Env, db: &Db, s: &ScheduleRow, now: i64) -> worker::Result<bool> {
    let Some(slot) = s.next_run_at else {
        return Ok(false);
    };
    let next = CronExpr::parse(&s.cron)
        .and_then(|expr| tz::zone(&s.timezone).and_then(|zone| next_run(&expr, &zone, now)))
        .unwrap_or_else(|e| {
            worker::console_error!(
                "scheduler: schedule {} cannot compute its next run: {e}",
                s.id
            );
            None
        });
    if !schedules::claim(db, s, slot, next, now).await? {
        return Ok(false); // another tick owns this slot
    }
    if s.overlap == "skip" && schedules::has_unfinished_run(db, s).await? {
        schedules::record_outcome(db, &s.id, slot, "skipped_overlap", None).await?;
        return Ok(false);
    }
    let team = Team::of_job(db, &s.team_id);
    let started = match workflows::get(&team, &s.workflow_id).await {
        Ok(Some(wf)) => {
            let input: Value = serde_json::from_str(&s.input).unwrap_or(Value::Null);
            let start = Start {
                schedule_id: Some(&s.id),
                ..Start::current(&wf, &input)
            };
            super::start(env, &team, &start, now).await.map(Some)
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match started {
        Ok(Some(execution_id)) => {
            schedules::record_outcome(db, &s.id, slot, "started", Some(&execution_id)).await?;
            Ok(true)
        }
        // The slot is claimed either way: a run that could not start is recorded as such and
        // counts toward disabling the schedule, never left looking started.
        failed => {
            if let Err(e) = &failed {
                worker::console_error!("scheduler: schedule {} failed to start: {e}", s.id);
            }
            schedules::record_outcome(db, &s.id, slot, "failed_to_start", None).await?;
            hooks::schedule_result(&team, &s.id, false).await?;
            Ok(false)
        }
    }
}
