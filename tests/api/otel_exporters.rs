//! The real OpenTelemetry exporters as clients, configured only by the two standard variables the
//! README gives (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`): the Python SDK's
//! OTLP/HTTP protobuf exporter and the JS `@opentelemetry/exporter-trace-otlp-http` (JSON), each
//! exporting an agent trace (agent → chat → tool) from `tests/otel/`. As soon as the exporter
//! has returned, the API shows the trace, its tree, the token buckets and the cost, and
//! `/api/tokens/usage` counts the call.
//!
//! `make test` installs both clients and names them: `BEACON_OTEL_PYTHON` (a Python with
//! `opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http`) and `tests/otel/node_modules`.

use std::path::Path;
use std::process::Command;

use crate::helpers::*;
use serde_json::{json, Value};

const OTEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otel");

/// Runs an exporter script with only the two variables set; answers the trace id it printed.
fn run_exporter(app: &TestApp, program: &str, script: &str, service: &str, token: &str) -> String {
    let output = Command::new(program)
        .arg(script)
        .arg(service)
        .current_dir(OTEL_DIR)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/api/otlp", app.address),
        )
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("Authorization=Bearer%20{token}"),
        )
        .output()
        .unwrap_or_else(|e| panic!("running {program} {script}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{script} printed no trace id ({e}): {stdout}"));
    string(&printed["trace_id"])
}

fn member_token(app: &TestApp, team: &TeamCtx) -> String {
    match app.create_token(&team.owner.auth, "member").auth() {
        Auth::Bearer(token) => token,
        other => panic!("not a token: {other:?}"),
    }
}

/// Checks the agent → chat → tool tree and the chat's buckets and cost, read right after the
/// exporter returned (no waiting: a span is readable once its request is answered).
fn assert_agent_trace(
    app: &TestApp,
    auth: &Auth,
    trace: &str,
    (service, agent): (&str, &str),
    tokens: Value,
    cost_nusd: i64,
) -> Value {
    let detail = app.get(&format!("/api/traces/{trace}"), auth).expect(200);
    assert_eq!(detail["service"], service, "{detail}");
    assert_eq!(detail["span_count"], 3);
    assert_eq!(detail["llm_calls"], 1);
    assert_eq!(detail["agents"], json!([agent]));
    assert_eq!(detail["tokens"], tokens);
    assert_eq!(detail["cost_nusd"], cost_nusd);
    let spans = detail["spans"].as_array().unwrap();
    let root = spans
        .iter()
        .find(|s| s["parent_span_id"].is_null())
        .unwrap();
    let chat = spans
        .iter()
        .find(|s| s["parent_span_id"] == root["span_id"])
        .unwrap();
    let tool = spans
        .iter()
        .find(|s| s["parent_span_id"] == chat["span_id"])
        .unwrap();
    assert_eq!(detail["name"], root["name"]);
    assert_eq!(chat["operation"], "chat");
    assert_eq!(chat["tokens"], tokens);
    assert_eq!(chat["cost_nusd"], cost_nusd);
    assert_eq!(chat["kind"], "client");
    assert_eq!(tool["operation"], "execute_tool");
    assert_eq!(tool["agent"], agent, "inherited from the agent span");
    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(usage["calls"], 1, "{usage}");
    assert_eq!(usage["tokens"], tokens);
    assert_eq!(usage["cost_nusd"], cost_nusd);
    detail
}

#[test]
fn the_python_sdks_protobuf_exporter_sends_an_agent_trace_that_the_api_shows_at_once() {
    let Ok(python) = std::env::var("BEACON_OTEL_PYTHON") else {
        eprintln!("BEACON_OTEL_PYTHON is not set (make test sets it): not run");
        return;
    };
    let app = app();
    let team = app.signup_team();
    let token = member_token(app, &team);
    let service = unique("py-agent");
    let trace = run_exporter(app, &python, "agent_trace.py", &service, &token);
    // claude-sonnet-4%: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million.
    let tokens = json!({"input": 1200, "cache_read": 500, "cache_write": 300, "output": 400,
                        "reasoning": 0, "total": 2400});
    let cost = 1200 * 3000 + 500 * 300 + 300 * 3750 + 400 * 15000;
    let detail = assert_agent_trace(
        app,
        &team.owner.auth,
        &trace,
        (&service, "planner"),
        tokens,
        cost,
    );
    assert_eq!(detail["name"], "invoke_agent planner");
    assert_eq!(detail["status"], "ok");
}

#[test]
fn the_js_exporter_sends_otlp_json_that_the_api_shows_at_once() {
    if !Path::new(OTEL_DIR)
        .join("node_modules/@opentelemetry")
        .is_dir()
    {
        eprintln!("tests/otel/node_modules is missing (make test installs it): not run");
        return;
    }
    let app = app();
    let team = app.signup_team();
    let token = member_token(app, &team);
    let service = unique("js-agent");
    let trace = run_exporter(app, "node", "agent_trace.mjs", &service, &token);
    let tokens = json!({"input": 800, "cache_read": 200, "cache_write": 0, "output": 400,
                        "reasoning": 100, "total": 1500});
    let detail = assert_agent_trace(
        app,
        &team.owner.auth,
        &trace,
        (&service, "researcher"),
        tokens,
        800 * 150 + 200 * 75 + 400 * 600 + 100 * 600,
    );
    assert_eq!(detail["status"], "error", "the tool span failed");
    let messages = &detail["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operation"] == "chat")
        .unwrap()["input_messages"];
    assert_eq!(messages[0]["role"], "user", "{messages}");
}
