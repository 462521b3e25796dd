//! The execution engine: the `EXECUTIONS` queue consumer that runs a workflow's steps in order.
//!
//! Delivery is at least once, so every transition is a guarded write: a step is claimed before it
//! runs (one consumer wins; a lease lets a dead consumer's step be taken over), a completed step
//! is never run again, and a cancelled execution starts no further step. A message is
//! acknowledged once its execution needs nothing more from it, and retried on infrastructure
//! errors; the consumer itself never fails.
//!
//! - [`start`]: recording a pending execution and sending it to the queue.
//! - [`run`]: the run loop — claim each step, run it, record it, finish the execution.
//! - [`step`]: what a step gives back (its output, usage or error) and the outbound-call helpers
//!   both step kinds share; [`llm`] (OpenAI, Anthropic and OpenAI-compatible calls with retries)
//!   and [`http`] (HTTP steps with URL safety, a timeout and a size cap) are the kinds.
//! - [`cost`]: each call's price, budget reservation and settlement; re-pricing history.
//! - [`keys`]: provider keys opened from the vault for one call, and counted; [`headers`]: http
//!   steps' header values sealed for storage and opened to run.
//! - [`hooks`]: what other features subscribe to when an execution finishes.
//! - [`scheduler`]: starting scheduled runs from the cron tick; [`sweep`]: re-sending runs whose
//!   queue message may have been lost.

pub mod cost;
pub mod headers;
pub mod hooks;
pub mod http;
pub mod keys;
pub mod llm;
pub mod run;
pub mod scheduler;
pub mod start;
pub mod step;
pub mod sweep;

pub use run::run;
pub use start::{start, Job, Start};
pub use step::{truncate, Settings, StepError, StepOutput, Usage};
pub use sweep::sweep_stalled;

/// A step's default time limit, and an execution's.
pub const STEP_TIMEOUT_MS: i64 = 60_000;
pub const EXECUTION_TIMEOUT_MS: i64 = 15 * 60_000;
/// Stored (and passed on) step output is capped here.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
