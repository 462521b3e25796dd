//! Integration tests: the real Worker under `wrangler dev` (workerd, local D1 and KV), driven over
//! HTTP from the host. One server is shared by the whole binary; every test signs up its own
//! team(s), so tests run in parallel.
//!
//! Layout:
//! - `helpers`: starting and stopping the server, typed requests, team and member fixtures.
//! - `conventions`: the rules every route follows (bad bodies, auth, roles, ids, lists), table-driven.
//! - `auth`, `team`, `members`, `invites`, `access_tokens`, `keys`, `workflows`, `executions`,
//!   `schedules`, `notifications`, `telemetry`, `analytics`, `cost` (prices, usage, re-pricing),
//!   `budgets`, `errors`, `traces` (the OTLP receiver and the trace routes), `health`: one file
//!   per resource.
//! - `otel_exporters`: the real OpenTelemetry exporters (Python protobuf, JS JSON) as clients.
//! - `openapi`: the served OpenAPI document, and every operation in it reaching a handler.
//! - `master_keys`: vault master-key rotation and upstream safety, on servers of their own.
//! - `quotas`: per-team quotas and the fair tick, on a server of its own with small limits.
//! - `mail_delivery`: invites through an HTTP email API (the stand-in's), on a server of its own.
//! - `faults`: SIGKILL of the whole server mid-ingest and mid-execution, then a restart on the
//!   same state (servers of their own).
//! - `outbound`: bodies capped while they stream in, both ways; redirects checked hop by hop.
//! - `secrets`: no password or token ever comes back in a later response or in the log.
//! - `gateway`: the LLM gateway against the stand-in provider, and the providers' own Python
//!   client libraries pointed at it (`tests/gateway/clients.py`).

mod access_tokens;
mod analytics;
mod auth;
mod budgets;
mod conventions;
mod cost;
mod errors;
mod executions;
mod faults;
mod gateway;
mod health;
mod helpers;
mod invites;
mod keys;
mod lifecycle;
mod mail_delivery;
mod master_keys;
mod members;
mod notifications;
mod openapi;
mod otel_exporters;
mod outbound;
mod quotas;
mod round_trips;
mod schedules;
mod secrets;
mod team;
mod telemetry;
mod traces;
mod workflows;
