//! `make fuzz` (and the short run at the end of `make test`): schemathesis against the OpenAPI
//! document on a real `wrangler dev`.
//!
//! Starts its own server with the integration tests' harness (fresh D1 and KV), signs up a
//! throwaway team, creates an owner access token, and runs schemathesis (`SCHEMATHESIS`, the
//! Makefile's pinned install) against `docs/openapi.json` (the document the Worker serves) with
//! that token, so every operation is reached as the most powerful caller (a bearer token, so a
//! generated `POST /api/auth/logout` cannot end the session). The team is seeded first — a
//! provider key at the stand-in provider, workflows that succeed and fail, their executions,
//! error issues and notifications, schedules, an invite, a member, a metric — and each operation
//! on an id is pinned to one of those objects, so its cases reach the handler's logic rather than
//! a 404. Any 5xx fails the run, and so does a response that does not match
//! the document (status, content type, schema). `FUZZ_EXAMPLES` is the number of random cases
//! per operation in the fuzzing phase, `FUZZ_MAX_TIME` a time budget in seconds over which
//! schemathesis repeats that phase, `FUZZ_PHASES` its phases (the coverage phase adds thousands
//! of cases built from the edges of every schema), `FUZZ_SEED` its seed (1); the run prints schemathesis's summary and keeps its JUnit report and crash cache (`st replay <id>` there) under `target/fuzz/`.

#[allow(dead_code, unused_imports)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use helpers::{app, string, unique_email, TeamCtx, TestApp};
use serde_json::json;
use std::fmt::Write as _;
use std::process::{exit, Command};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Operations that can revoke the fuzzer's own credentials (schemathesis reuses ids it reads in
/// responses, its own token's among them, unless the id is pinned): they run last, on their own.
const LAST: &str = "AccessTokenDelete";

/// Real objects of the fuzzed team, so operations on an id reach their logic instead of a 404:
/// `(operationId, path parameter, value)`. Each destructive operation gets an object of its own.
fn seed(app: &TestApp, team: &TeamCtx) -> Vec<(&'static str, &'static str, String)> {
    let owner = &team.owner.auth;
    let key = app.openai_key(owner);
    let llm = json!([{"id": "ask", "kind": "llm", "agent": "fuzz", "key_id": key,
                      "model": "gpt-4o-mini", "prompt": "Say {{input.word}}", "max_tokens": 16}]);
    let workflow = string(&app.create_workflow(owner, llm)["id"]);
    let failing = app.hook_workflow(owner, "/hook/fail");
    let succeeded = app.execute(owner, &workflow, json!({"word": "hi"}));
    let failed: Vec<String> = (0..2)
        .map(|_| app.execute(owner, &failing, json!({})))
        .collect();
    for id in failed.iter().chain([&succeeded]) {
        app.wait_finished(owner, id);
    }
    let schedule = |app: &TestApp| {
        let body =
            json!({"workflow_id": workflow, "cron": "0 9 * * mon-fri", "timezone": "Europe/Paris"});
        string(&app.post_json("/api/schedules", &body, owner).expect(201)["id"])
    };
    let body = json!({"component": "app", "metric_name": "page_load_ms", "value": 120.5});
    app.post_json("/api/telemetry/metrics", &body, owner)
        .expect(202);
    let first = |path: &str| -> Vec<String> {
        let list = app.get(path, owner).expect(200);
        let items = list["data"].as_array().cloned().unwrap_or_default();
        items.iter().map(|i| string(&i["id"])).collect()
    };
    let issue = first("/api/errors").into_iter().next().unwrap_or_default();
    let notes = first("/api/notifications?category=workflow");
    let note = |i: usize| notes.get(i).cloned().unwrap_or_default();
    let invite = app.invite(owner, &unique_email("fuzz"), "viewer").id;
    let member = team.member(app, "member").user_id;
    vec![
        ("KeyGet", "id", key.clone()),
        ("KeyRotate", "id", key.clone()),
        ("KeyTest", "id", key.clone()),
        ("KeyUsage", "id", key),
        ("KeyDelete", "id", app.openai_key(owner)),
        ("WorkflowGet", "id", workflow.clone()),
        ("WorkflowUpdate", "id", workflow.clone()),
        ("WorkflowExecute", "id", workflow.clone()),
        ("WorkflowDelete", "id", app.hook_workflow(owner, "/hook")),
        ("ExecutionGet", "id", succeeded.clone()),
        ("ExecutionCancel", "id", succeeded),
        ("ExecutionRetry", "id", failed[0].clone()),
        ("ScheduleGet", "id", schedule(app)),
        ("ScheduleUpdate", "id", schedule(app)),
        ("ScheduleRuns", "id", schedule(app)),
        ("ScheduleDelete", "id", schedule(app)),
        ("ErrorGet", "id", issue.clone()),
        ("ErrorResolve", "id", issue.clone()),
        ("ErrorReopen", "id", issue),
        ("NotificationRead", "id", note(0)),
        ("NotificationUnread", "id", note(0)),
        ("NotificationHide", "id", note(1)),
        ("InviteRevoke", "id", invite),
        ("MemberChangeRole", "id", member.clone()),
        ("MemberRemove", "id", member),
        ("TelemetryMetricsList", "component", "app".to_string()),
        (
            "AccessTokenDelete",
            "id",
            app.create_token(owner, "viewer").id,
        ),
    ]
}

/// A schemathesis config that pins each seeded operation's path parameter.
fn config(seeded: &[(&str, &str, String)]) -> String {
    // Streams stay open for minutes: a few seconds and one event are enough to check them.
    let mut toml = String::from(
        "# Written by examples/fuzz.rs for one run.\n\n[[operations]]\n\
         include-operation-id = [\"ExecutionsStream\", \"NotificationsStream\"]\n\
         request-timeout = 3.0\nmax-stream-events = 1\n\n\
         # The gateway answers 502 `provider_unreachable` by design when a key's provider cannot be\n\
         # reached (keys the fuzzer creates point at the real providers, offline here).\n\
         [[operations]]\n\
         include-operation-id = [\"GatewayOpenAiChat\", \"GatewayOpenAiEmbeddings\", \"GatewayAnthropicMessages\"]\n\
         checks.not_a_server_error.expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"502\"]\n",
    );
    for (operation, parameter, value) in seeded.iter().filter(|(_, _, v)| !v.is_empty()) {
        let _ = write!(
            toml,
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\nparameters = {{ \"path.{parameter}\" = \"{value}\" }}\n"
        );
    }
    toml
}

fn main() {
    let schemathesis = setting("SCHEMATHESIS", "st");
    let examples = setting("FUZZ_EXAMPLES", "20");
    // With a time budget schemathesis repeats its fuzzing phase until the budget is spent;
    // without one it stops after FUZZ_EXAMPLES cases per operation.
    let max_time = std::env::var("FUZZ_MAX_TIME")
        .ok()
        .filter(|t| !t.is_empty());
    let phases = setting("FUZZ_PHASES", "examples,coverage,fuzzing");
    // The same cases every run unless asked otherwise: another seed explores other ones.
    let fuzz_seed = setting("FUZZ_SEED", "1");
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "owner");
    let seeded = seed(app, &team);
    let repo = env!("CARGO_MANIFEST_DIR");
    // schemathesis keeps its report and its crash cache (for `st replay`) in its working folder.
    let out = format!("{repo}/target/fuzz");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let config_path = format!("{out}/schemathesis.toml");
    std::fs::write(&config_path, config(&seeded)).unwrap_or_else(|e| panic!("{config_path}: {e}"));
    let budget = max_time
        .as_ref()
        .map_or(String::new(), |t| format!(", repeated for {t} s"));
    println!(
        "fuzzing {} with schemathesis ({phases}): {examples} random cases per operation{budget}",
        app.address
    );
    let run = |filter: &str, max_time: Option<&String>| {
        let mut st = Command::new(&schemathesis);
        st.args(["--config-file", &config_path, "--no-color", "run"]);
        if let Some(seconds) = max_time {
            st.args(["--max-time", seconds]);
        }
        st
            // The repository's document: tests/api/openapi.rs checks the Worker serves this file.
            .arg(format!("{repo}/docs/openapi.json"))
            .args(["--url", &app.address])
            .args([
                "--header",
                &format!("Authorization: Bearer {}", token.token),
            ])
            .args(["--checks", CHECKS])
            .args(["--max-examples", &examples])
            .args(["--phases", &phases])
            .args([
                "--workers",
                "2",
                "--request-timeout",
                "20",
                "--seed",
                &fuzz_seed,
            ])
            .args(["--suppress-health-check", "all"])
            .args([filter, LAST])
            .args(["--report", "junit", "--report-dir", &out])
            .current_dir(&out)
            .env("NO_COLOR", "1")
            .status()
            .unwrap_or_else(|e| panic!("running {schemathesis}: {e}"))
    };
    let main = run("--exclude-operation-id", max_time.as_ref());
    let last = run("--include-operation-id", None);
    let passed = main.success() && last.success();
    if !passed {
        eprintln!(
            "schemathesis found failures (above); the Worker's log: {}",
            app.log_path.display()
        );
    }
    exit(if passed { 0 } else { 1 });
}
