//! Beacon: the operations backend for teams that run AI agent workflows, as one Cloudflare Worker.
//!
//! # Layout
//!
//! Imports run one way: `api` → `engine` → (`notify`, `mailer`, `providers`, `vault`) → `store`
//! → (`platform`, `domain`). `cron` sits beside `api` as the other entry point.
//!
//! - [`domain`]: pure Rust rules and types, no Worker types, unit-tested natively: ids
//!   (`TeamId`, `UserId`), roles, execution and step statuses, provider services, validation,
//!   paging, time ranges, crontab and DST, pricing, token buckets, error fingerprints, URL safety.
//! - [`routes`]: the route table (method, path, operation) the router dispatches on, held against
//!   the OpenAPI document (`docs/openapi.json`) by a native unit test.
//! - `api` (wasm only): HTTP — the router, the error envelope, the extractors with the one
//!   `authorize`, shared pieces (`audit`: a change and its activity entry in one batch;
//!   `session`; `sse`), and one file per resource that imports only those.
//! - `engine` (wasm only): the queue consumer that runs workflows — starting a run, the run loop,
//!   the step kinds (LLM, HTTP), cost and budgets, provider keys for a call, finish hooks, the
//!   scheduler and the sweep of stalled runs.
//! - `store` (wasm only): every SQL statement, one file per table group. Team-owned queries take a
//!   `store::Team` first, which outside `store` can only be made by its named constructors (the
//!   authenticated caller's team, a team being joined, a job's team) or an `OwnedTeam` made from
//!   one; row structs parse statuses, roles, services and ids into domain types.
//! - `notify` (wasm only): raising a notification for the team.
//! - `mailer` (wasm only): outgoing mail — the `log` mailer and Resend's HTTP API.
//! - `providers` (wasm only): provider authentication headers and the models probe.
//! - `outbound` (wasm only): every call to the outside — redirects followed by hand with each
//!   hop's URL checked, one time limit, bodies read up to a cap.
//! - `vault` (wasm only): AES-256-GCM sealing and opening of secrets through WebCrypto; crypto only.
//! - `platform` (wasm only): WebCrypto hashing, clock, randomness and deployment settings.
//! - `tz` (wasm only): IANA time zones from the runtime's ICU, for schedules.
//! - `cron` (wasm only): the scheduled handler — each housekeeping task runs and reports on its own.
//!
//! The entry points below only hand over to those modules.

pub mod domain;
pub mod routes;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod cron;
#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod mailer;
#[cfg(target_arch = "wasm32")]
mod notify;
#[cfg(target_arch = "wasm32")]
mod outbound;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod providers;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod tz;
#[cfg(target_arch = "wasm32")]
mod vault;

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::{
        event, Context, Env, MessageBatch, MessageExt, Response, Result, ScheduleContext,
        ScheduledEvent,
    };

    /// The request stays the runtime's own object: the worker crate's `Request` reads `cf` when
    /// it is made, which has workerd parse and freeze that object on every request (0.1 ms of
    /// CPU a request, measured under `wrangler dev`), and nothing here reads it.
    #[event(fetch)]
    async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<Response> {
        Ok(crate::api::handle(req, env, ctx).await)
    }

    #[event(scheduled)]
    async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        crate::cron::tick(event, env).await;
    }

    /// Runs executions. Each message is acknowledged or retried on its own; the handler itself
    /// never fails (an `Err` here would reset the instance).
    #[event(queue)]
    async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> Result<()> {
        // Bodies are read as the objects `engine::start::enqueue` sent (`Job::from_js`), not
        // through the worker crate's serde path (`messages()`).
        let messages: Vec<_> = batch.raw_iter().collect();
        let runs = messages.iter().map(|message| {
            let env = &env;
            async move {
                let Some(job) = crate::engine::Job::from_js(&message.body()) else {
                    // A message that can never be read is dropped, not retried forever.
                    worker::console_error!("queue: dropping unreadable message {}", message.id());
                    message.ack();
                    return;
                };
                match crate::engine::run(env, &job).await {
                    Ok(()) => message.ack(),
                    Err(e) => {
                        worker::console_error!(
                            "queue: execution {}: {e} (will retry)",
                            job.execution_id
                        );
                        message.retry();
                    }
                }
            }
        });
        futures_util::future::join_all(runs).await;
        Ok(())
    }
}
