//! `make fuzz` (and the short run at the end of `make test`): schemathesis against the OpenAPI
//! document on a real `wrangler dev`.
//!
//! Starts its own server with the integration tests' harness (fresh D1 and KV), signs up a
//! throwaway team, creates an owner access token, and runs schemathesis (`SCHEMATHESIS`, the
//! Makefile's pinned install) against `docs/openapi.json` (the document the Worker serves) with
//! that token, so every operation is reached as the most powerful caller (a bearer token, so a
//! generated `POST /api/auth/logout` cannot end the session). Any 5xx fails the run, and so does a response that does not match
//! the document (status, content type, schema). `FUZZ_EXAMPLES` is the number of generated cases
//! per operation in the fuzzing phase, `FUZZ_MAX_TIME` the time budget in seconds, `FUZZ_PHASES`
//! schemathesis's phases (the coverage phase adds thousands of cases built from the schema's
//! edges); the run prints schemathesis's summary and keeps its JUnit report and crash cache (`st replay <id>` there) under `target/fuzz/`.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use helpers::app;
use std::process::{exit, Command};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Operations that can revoke the fuzzer's own credentials (schemathesis reuses ids it reads in
/// responses, its own token's among them): they run last, on their own.
const LAST: &str = "AccessTokenDelete";

fn main() {
    let schemathesis = setting("SCHEMATHESIS", "st");
    let examples = setting("FUZZ_EXAMPLES", "20");
    let max_time = setting("FUZZ_MAX_TIME", "300");
    let phases = setting("FUZZ_PHASES", "examples,coverage,fuzzing");
    // The last run is one operation: a minute at most.
    let last_time = max_time
        .parse::<u32>()
        .map_or(60, |t| t.min(60))
        .to_string();
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "owner");
    let repo = env!("CARGO_MANIFEST_DIR");
    // schemathesis keeps its report and its crash cache (for `st replay`) in its working folder.
    let out = format!("{repo}/target/fuzz");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    println!(
        "fuzzing {} with schemathesis: {examples} cases per operation, at most {max_time} s",
        app.address
    );
    let run = |filter: &str, max_time: &str| {
        Command::new(&schemathesis)
            .arg("run")
            // The repository's document: tests/api/openapi.rs checks the Worker serves this file.
            .arg(format!("{repo}/docs/openapi.json"))
            .args(["--url", &app.address])
            .args([
                "--header",
                &format!("Authorization: Bearer {}", token.token),
            ])
            .args(["--checks", CHECKS])
            .args(["--max-examples", &examples, "--max-time", max_time])
            .args(["--phases", &phases])
            .args(["--workers", "2", "--request-timeout", "20", "--seed", "1"])
            .args(["--suppress-health-check", "all", "--no-color"])
            .args([filter, LAST])
            .args(["--report", "junit", "--report-dir", &out])
            .current_dir(&out)
            .env("NO_COLOR", "1")
            .status()
            .unwrap_or_else(|e| panic!("running {schemathesis}: {e}"))
    };
    let main = run("--exclude-operation-id", &max_time);
    let last = run("--include-operation-id", &last_time);
    let passed = main.success() && last.success();
    if !passed {
        eprintln!(
            "schemathesis found failures (above); the Worker's log: {}",
            app.log_path.display()
        );
    }
    exit(if passed { 0 } else { 1 });
}
