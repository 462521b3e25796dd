//! Pure domain logic: no Worker types, so everything here compiles and is unit-tested natively.
//!
//! - [`role`]: the team roles and their ordering.
//! - [`fields`]: reading a JSON object into typed fields, collecting every field error at once.
//! - [`csv`]: CSV lines for exports.
//! - [`email`], [`ids`]: newtypes: an email that can only be built valid, team and user ids.
//! - [`execution`]: execution and step statuses and what each allows.
//! - [`paging`]: `?limit=` and opaque cursors.
//! - [`password`]: password rules and the stored PBKDF2 hash format.
//! - [`range`]: `?range=` / `?from=&to=` time windows and their previous period.
//! - [`retry`]: which provider answers are retried, and after how long.
//! - [`rollup`]: how a time window maps onto the telemetry rollups; trend buckets and metrics.
//! - [`rules`]: who may grant, change or remove which role.
//! - [`schedule`]: crontab expressions and their next fire times in a time zone, across DST.
//! - [`service`]: the provider services keys belong to.
//! - [`telemetry`]: validating telemetry events and metrics.
//! - [`upstream`]: outbound URL safety (https, no private addresses).
//! - [`vault`]: master keys, the ciphertext envelope and what may be shown of a secret.
//! - [`workflow`], [`template`]: workflow definitions and their `{{...}}` templates.
//! - [`usage`]: provider usage reports as five non-overlapping token buckets.
//! - [`pricing`]: choosing a call's price row and its cost in nano-USD.
//! - [`calendar`]: UTC months for budgets and projections.
//! - [`errors`]: error fingerprints (normalised messages) and severity.
//! - [`gateway`]: the LLM gateway's request reading, worst case, streamed usage, cache keys.
//! - [`lifecycle`]: retention periods, erasure subjects, retention chunk sizes.
//! - [`otlp`]: the OTLP/HTTP trace receiver's decoding, GenAI reading and answers (no HTTP, no D1).

pub mod calendar;
pub mod csv;
pub mod email;
pub mod errors;
pub mod execution;
pub mod fields;
pub mod gateway;
pub mod ids;
pub mod lifecycle;
pub mod otlp;
pub mod paging;
pub mod password;
pub mod pricing;
pub mod range;
pub mod retry;
pub mod role;
pub mod rollup;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod telemetry;
pub mod template;
pub mod upstream;
pub mod usage;
pub mod vault;
pub mod workflow;
