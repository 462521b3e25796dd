//! Beacon: the operations backend for teams that run AI agent workflows, as one Cloudflare Worker.
//!
//! # Layout
//!
//! - [`domain`]: pure Rust rules and types (roles, validation, paging, time ranges), unit-tested
//!   natively with `cargo test`.
//! - [`routes`]: the route table (method, path, operation) the router dispatches on, held against
//!   the OpenAPI document (`docs/openapi.json`) by a native unit test.
//! - `api` (wasm only): the HTTP layer — router, error envelope, extractors, one file per resource.
//! - `store` (wasm only): D1 queries, one file per resource; every function takes the caller's team.
//! - `platform` (wasm only): WebCrypto, clock and randomness reached from Rust.
//! - `cron` (wasm only): the scheduled handler.
//! - `tz` (wasm only): IANA time zones from the runtime's ICU, for schedules.
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
        event, Context, Env, MessageBatch, MessageExt, Request, Response, Result, ScheduleContext,
        ScheduledEvent,
    };

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
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
        let messages = match batch.messages() {
            Ok(m) => m,
            Err(e) => {
                worker::console_error!("queue: unreadable batch: {e}");
                batch.retry_all();
                return Ok(());
            }
        };
        let runs = messages.iter().map(|message| {
            let env = &env;
            async move {
                match serde_json::from_value::<crate::engine::Job>(message.body().clone()) {
                    Ok(job) => match crate::engine::run(env, &job).await {
                        Ok(()) => message.ack(),
                        Err(e) => {
                            worker::console_error!(
                                "queue: execution {}: {e} (will retry)",
                                job.execution_id
                            );
                            message.retry();
                        }
                    },
                    Err(e) => {
                        // A message that can never be read is dropped, not retried forever.
                        worker::console_error!(
                            "queue: dropping unreadable message {}: {e}",
                            message.id()
                        );
                        message.ack();
                    }
                }
            }
        });
        futures_util::future::join_all(runs).await;
        Ok(())
    }
}
