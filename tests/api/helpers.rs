//! The harness, in the manner of zero2prod's `spawn_app`: one `wrangler dev` shared by every test
//! of this binary (started on first use, stopped when the process exits), typed HTTP helpers, and
//! fixtures that sign up teams and add members. Tests isolate themselves by signing up their own
//! teams with unique emails, so they run in parallel.

// Explicit paths so `examples/bench.rs` can include this module from outside `tests/`.
#[path = "helpers/fixtures.rs"]
mod fixtures;
#[path = "helpers/http.rs"]
mod http;
#[path = "helpers/runs.rs"]
mod runs;
#[path = "helpers/server.rs"]
mod server;
#[path = "helpers/stand_in.rs"]
mod stand_in;

pub use fixtures::*;
pub use http::*;
pub use server::*;
pub use stand_in::*;
