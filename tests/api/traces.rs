//! Traces: the OTLP/HTTP receiver (OTLP/JSON and protobuf, gzip, retries, partial success,
//! limits, the GenAI conventions and their older names, refusals), the joins with usage, cost,
//! budgets and errors, and the list and detail routes (filters, paging, roles, tenancy).
//! The real OpenTelemetry exporters are driven by the SDK tests (sdk/) and `otel_exporters`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::helpers::*;
use beacon::domain::otlp::proto;
use prost::Message;
use serde_json::{json, Value};

const OTLP: &str = "/api/otlp/v1/traces";
const PROTOBUF: &str = "application/x-protobuf";

/// A fresh 32-hex trace id.
fn trace_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:016x}",
        now_millis() as u64,
        n ^ 0x5bd1_e995_0000_0000
    )
}

/// A span id from a short label, unique within the test's trace.
fn span_id(label: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn attr(key: &str, value: Value) -> Value {
    let value = match value {
        Value::String(s) => json!({"stringValue": s}),
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n}),
        Value::Bool(b) => json!({"boolValue": b}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": key, "value": value})
}

/// A base time: now, in ns.
fn base_ns() -> u64 {
    now_millis() as u64 * 1_000_000
}

/// An OTLP/JSON span: `at_ms`..`at_ms + ms` after `base`, with attributes.
fn span(
    trace: &str,
    id: &str,
    parent: Option<&str>,
    name: &str,
    (base, at_ms, ms): (u64, f64, f64),
    attrs: &[(&str, Value)],
) -> Value {
    let start = base + (at_ms * 1e6) as u64;
    let end = start + (ms * 1e6) as u64;
    let mut s = json!({
        "traceId": trace,
        "spanId": span_id(id),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": end.to_string(),
        "attributes": attrs.iter().map(|(k, v)| attr(k, v.clone())).collect::<Vec<_>>(),
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(span_id(p));
    }
    s
}

/// A root `chat` span of 1 ms starting at `start_ns`, named `id`, reporting (input, output) tokens.
fn chat_span(
    trace: &str,
    id: &str,
    start_ns: u64,
    model: &str,
    (input, output): (Value, Value),
) -> Value {
    span(
        trace,
        id,
        None,
        id,
        (start_ns, 0.0, 1.0),
        &[
            ("gen_ai.operation.name", json!("chat")),
            ("gen_ai.request.model", json!(model)),
            ("gen_ai.usage.input_tokens", input),
            ("gen_ai.usage.output_tokens", output),
        ],
    )
}

fn request(service: &str, spans: Vec<Value>) -> Value {
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", json!(service))]},
        "scopeSpans": [{"scope": {"name": "test.agents"}, "spans": spans}]
    }]})
}

fn export(app: &TestApp, auth: &Auth, body: &Value) -> Value {
    let resp = app.post_raw(OTLP, body.to_string().as_bytes(), Some(JSON), auth);
    assert_eq!(resp.status, 200, "{resp}");
    assert!(resp.header("content-type").unwrap_or("").starts_with(JSON));
    resp.json()
}

/// Asserts an export answer refused `count` spans, its message naming `reason`.
fn assert_refused(answer: &Value, count: &str, reason: &str) {
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], count, "{answer}");
    assert!(
        string(&answer["partialSuccess"]["errorMessage"]).contains(reason),
        "{answer}"
    );
}

/// The agent → chat → tool trace the issue describes: the chat reports usage with cached input
/// and reasoning inside the totals, as the conventions count them.
fn agent_trace(trace: &str, base: u64) -> Vec<Value> {
    vec![
        span(
            trace,
            "agent",
            None,
            "invoke_agent planner",
            (base, 0.0, 1200.5),
            &[
                ("gen_ai.operation.name", json!("invoke_agent")),
                ("gen_ai.agent.name", json!("planner")),
                ("gen_ai.conversation.id", json!("conv-1")),
            ],
        ),
        span(
            trace,
            "chat",
            Some("agent"),
            "chat gpt-4o-mini",
            (base, 10.25, 800.0),
            &[
                ("gen_ai.operation.name", json!("chat")),
                ("gen_ai.provider.name", json!("openai")),
                ("gen_ai.request.model", json!("gpt-4o-mini")),
                ("gen_ai.response.model", json!("gpt-4o-mini-2024-07-18")),
                ("gen_ai.usage.input_tokens", json!(1000)),
                ("gen_ai.usage.cache_read.input_tokens", json!(200)),
                ("gen_ai.usage.output_tokens", json!(500)),
                ("gen_ai.usage.reasoning.output_tokens", json!(100)),
                (
                    "gen_ai.input.messages",
                    json!(r#"[{"role":"user","parts":[{"type":"text","content":"Plan a trip"}]}]"#),
                ),
                (
                    "gen_ai.output.messages",
                    json!(
                        r#"[{"role":"assistant","parts":[{"type":"text","content":"Day 1: ..."}]}]"#
                    ),
                ),
            ],
        ),
        span(
            trace,
            "tool",
            Some("chat"),
            "execute_tool search",
            (base, 820.0, 300.0),
            &[
                ("gen_ai.operation.name", json!("execute_tool")),
                ("gen_ai.tool.name", json!("search")),
            ],
        ),
    ]
}

/// 800 input, 200 cache read, 400 output, 100 reasoning at gpt-4o-mini's default price
/// ($0.15 / $0.075 / $0.60 per million; reasoning at the output rate).
const AGENT_TRACE_COST_NUSD: i64 = 800 * 150 + 200 * 75 + 400 * 600 + 100 * 600;

fn trace_detail(app: &TestApp, auth: &Auth, trace: &str) -> Value {
    app.get(&format!("/api/traces/{trace}"), auth).expect(200)
}

fn spans_by_name(detail: &Value) -> std::collections::HashMap<String, Value> {
    detail["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (string(&s["name"]), s.clone()))
        .collect()
}

#[test]
fn an_otlp_json_agent_trace_is_stored_as_a_tree_with_its_tokens_cost_and_usage() {
    let app = app();
    let team = app.signup_team();
    let token = app.create_token(&team.owner.auth, "member").auth();
    let trace = trace_id();
    let answer = export(
        app,
        &token,
        &request("trip-planner", agent_trace(&trace, base_ns())),
    );
    assert_eq!(answer, json!({}), "no partial success");

    let detail = trace_detail(app, &team.owner.auth, &trace);
    assert_eq!(detail["id"], trace.as_str());
    assert_eq!(detail["name"], "invoke_agent planner", "the root's name");
    assert_eq!(detail["service"], "trip-planner");
    assert_eq!(detail["span_count"], 3);
    assert_eq!(detail["llm_calls"], 1);
    assert_eq!(detail["status"], "ok");
    assert_eq!(detail["agents"], json!(["planner"]));
    assert_eq!(detail["models"], json!(["gpt-4o-mini-2024-07-18"]));
    assert_eq!(detail["execution_id"], Value::Null);
    assert_eq!(detail["spans_truncated"], false);
    let tokens = json!({"input": 800, "cache_read": 200, "cache_write": 0, "output": 400,
                        "reasoning": 100, "total": 1500});
    assert_eq!(detail["tokens"], tokens);
    assert_eq!(detail["cost_nusd"], AGENT_TRACE_COST_NUSD);
    assert!((detail["duration_ms"].as_f64().unwrap() - 1200.5).abs() < 0.01);

    let spans = spans_by_name(&detail);
    let (agent, chat, tool) = (
        &spans["invoke_agent planner"],
        &spans["chat gpt-4o-mini"],
        &spans["execute_tool search"],
    );
    assert_eq!(agent["parent_span_id"], Value::Null);
    assert_eq!(chat["parent_span_id"], agent["span_id"]);
    assert_eq!(tool["parent_span_id"], chat["span_id"]);
    assert_eq!(
        detail["spans"][0]["name"], "invoke_agent planner",
        "ordered by start"
    );
    assert_eq!(chat["agent"], "planner", "inherited from the parent");
    assert_eq!(tool["agent"], "planner");
    assert_eq!(tool["tool"], "search");
    assert_eq!(chat["operation"], "chat");
    assert_eq!(chat["provider"], "openai");
    assert_eq!(chat["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(chat["tokens"], tokens);
    assert_eq!(chat["cost_nusd"], AGENT_TRACE_COST_NUSD);
    assert_eq!(tool["tokens"], Value::Null);
    assert_eq!(tool["cost_nusd"], Value::Null);
    assert!(
        (chat["offset_ms"].as_f64().unwrap() - 10.25).abs() < 0.01,
        "{chat}"
    );
    assert!((chat["duration_ms"].as_f64().unwrap() - 800.0).abs() < 0.01);
    assert_eq!(chat["input_messages"][0]["role"], "user");
    assert_eq!(chat["output_messages"][0]["role"], "assistant");
    assert_eq!(chat["truncated"], false);
    assert_eq!(agent["attributes"]["gen_ai.conversation.id"], "conv-1");

    // The same call, seen from the cost pages.
    let usage = app
        .get("/api/tokens/usage?range=24h", &team.owner.auth)
        .expect(200);
    assert_eq!(usage["calls"], 1, "{usage}");
    assert_eq!(usage["tokens"], tokens);
    assert_eq!(usage["cost_nusd"], AGENT_TRACE_COST_NUSD);
    let by_agent = app
        .get("/api/tokens/breakdown?by=agent&range=24h", &team.owner.auth)
        .expect(200);
    assert!(by_agent.to_string().contains("planner"), "{by_agent}");
    let budgets = app.get("/api/budgets", &team.owner.auth).expect(200);
    assert_eq!(budgets["spent_nusd"], AGENT_TRACE_COST_NUSD, "{budgets}");
    // And from analytics' hourly rollup (the trace's calls are added to it per hour, not per row).
    let summary = app
        .get("/api/analytics/summary?range=24h", &team.owner.auth)
        .expect(200);
    assert_eq!(summary["current"]["tokens"], tokens["total"], "{summary}");
    assert_eq!(
        summary["current"]["cost_usd"].as_f64(),
        Some(AGENT_TRACE_COST_NUSD as f64 / 1e9),
        "{summary}"
    );
    let trend = app
        .get(
            "/api/analytics/trends?metric=cost&range=24h",
            &team.owner.auth,
        )
        .expect(200);
    let cost: f64 = trend["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["value"].as_f64())
        .sum();
    assert!(
        (cost - AGENT_TRACE_COST_NUSD as f64 / 1e9).abs() < 1e-12,
        "{trend}"
    );

    let list = app.get("/api/traces", &team.owner.auth).expect(200);
    let first = &list["data"][0];
    assert_eq!(first["id"], trace.as_str());
    for field in [
        "name",
        "service",
        "started_at",
        "duration_ms",
        "span_count",
        "llm_calls",
        "tokens",
        "cost_nusd",
        "cost_usd",
        "status",
        "agents",
        "models",
        "execution_id",
    ] {
        assert_eq!(first[field], detail[field], "{field}");
    }
    assert!(first.get("spans").is_none());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // A gzip member around a raw DEFLATE stream (RFC 1952), as exporters send it.
    let deflated = miniz_oxide::deflate::compress_to_vec(bytes, 6);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&deflated);
    let crc = crc32(bytes);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn kv(key: &str, value: proto::Value) -> proto::KeyValue {
    proto::KeyValue {
        key: key.into(),
        value: Some(proto::AnyValue { value: Some(value) }),
    }
}

/// A protobuf `ExportTraceServiceRequest` with one chat span under an agent span.
fn protobuf_request(trace: &str, service: &str) -> Vec<u8> {
    use proto::Value as V;
    let base = base_ns();
    let span =
        |id: &str, parent: Option<&str>, name: &str, attrs: Vec<proto::KeyValue>| proto::Span {
            trace_id: hex(trace),
            span_id: hex(&span_id(id)),
            parent_span_id: parent.map(|p| hex(&span_id(p))).unwrap_or_default(),
            name: name.into(),
            kind: 3,
            start_time_unix_nano: base,
            end_time_unix_nano: base + 250_000_000,
            attributes: attrs,
            ..Default::default()
        };
    let request = proto::ExportTraceServiceRequest {
        resource_spans: vec![proto::ResourceSpans {
            resource: Some(proto::Resource {
                attributes: vec![kv("service.name", V::String(service.into()))],
            }),
            scope_spans: vec![proto::ScopeSpans {
                scope: None,
                spans: vec![
                    span(
                        "root",
                        None,
                        "invoke_agent support",
                        vec![kv("gen_ai.agent.name", V::String("support".into()))],
                    ),
                    span(
                        "call",
                        Some("root"),
                        "chat claude",
                        vec![
                            kv("gen_ai.system", V::String("anthropic".into())),
                            kv(
                                "gen_ai.request.model",
                                V::String("claude-sonnet-4-5".into()),
                            ),
                            kv("gen_ai.usage.input_tokens", V::Int(300)),
                            kv("gen_ai.usage.output_tokens", V::Int(40)),
                        ],
                    ),
                ],
            }],
        }],
    };
    request.encode_to_vec()
}

#[test]
fn a_gzipped_protobuf_export_is_answered_in_protobuf_and_a_retry_stores_nothing_twice() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let trace = trace_id();
    let body = gzip(&protobuf_request(&trace, "support-bot"));
    let send = || {
        app.request(
            "POST",
            OTLP,
            &[
                ("Content-Type", PROTOBUF),
                ("Content-Encoding", "gzip"),
                ("Cookie", &cookie(auth)),
            ],
            Some(&body),
        )
    };
    for _ in 0..2 {
        let resp = send();
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(resp.header("content-type"), Some(PROTOBUF));
        let answer = proto::ExportTraceServiceResponse::decode(resp.bytes.as_slice()).unwrap();
        assert_eq!(answer.partial_success, None);
    }
    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["span_count"], 2, "the retry added nothing");
    assert_eq!(detail["llm_calls"], 1);
    assert_eq!(detail["service"], "support-bot");
    let call = &spans_by_name(&detail)["chat claude"];
    assert_eq!(
        call["provider"], "anthropic",
        "gen_ai.system, the older name"
    );
    assert_eq!(call["agent"], "support");
    assert_eq!(call["kind"], "client");
    assert_eq!(call["tokens"]["input"], 300);
    assert!(call["cost_nusd"].as_i64().unwrap() > 0, "{call}");
    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(usage["calls"], 1, "the retry is not a second call: {usage}");
}

fn cookie(auth: &Auth) -> String {
    match auth {
        Auth::Cookie(token) => format!("beacon_session={token}"),
        other => panic!("not a session: {other:?}"),
    }
}

#[test]
fn spans_exported_in_pieces_make_one_trace_named_for_its_root_with_agents_from_stored_parents() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let trace = trace_id();
    let base = base_ns();
    let spans = agent_trace(&trace, base);
    // The tool span first (its parents are not stored yet), then the chat, then the root last,
    // as a batching exporter sends them when children end first.
    export(app, auth, &request("svc", vec![spans[1].clone()]));
    let partial = trace_detail(app, auth, &trace);
    assert_eq!(
        partial["name"], "chat gpt-4o-mini",
        "the earliest span's until the root"
    );
    export(app, auth, &request("svc", vec![spans[2].clone()]));
    export(app, auth, &request("svc", vec![spans[0].clone()]));
    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["name"], "invoke_agent planner");
    assert_eq!(detail["span_count"], 3);
    assert_eq!(detail["llm_calls"], 1);
    assert_eq!(detail["cost_nusd"], AGENT_TRACE_COST_NUSD);
    assert!((detail["duration_ms"].as_f64().unwrap() - 1200.5).abs() < 0.01);

    // A child of the agent span sent after it learns the agent from the stored parent.
    let late = span(
        &trace,
        "late",
        Some("agent"),
        "chat follow-up",
        (base, 1100.0, 50.0),
        &[
            ("gen_ai.request.model", json!("gpt-4o-mini")),
            ("gen_ai.usage.prompt_tokens", json!(10)),
            ("gen_ai.usage.completion_tokens", json!(5)),
        ],
    );
    export(app, auth, &request("svc", vec![late]));
    let detail = trace_detail(app, auth, &trace);
    let late = &spans_by_name(&detail)["chat follow-up"];
    assert_eq!(late["agent"], "planner", "{late}");
    assert_eq!(late["tokens"]["input"], 10, "prompt_tokens, the older name");
    assert_eq!(late["tokens"]["output"], 5);
    assert_eq!(detail["llm_calls"], 2);
}

#[test]
fn bad_spans_are_refused_with_partial_success_and_long_values_are_cut() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let trace = trace_id();
    let base = base_ns();
    let long = "x".repeat(20 * 1024);
    let mut bad = span(&trace, "bad", None, "bad ids", (base, 0.0, 1.0), &[]);
    bad["spanId"] = json!("123");
    let many: Vec<(String, Value)> = (0..300).map(|i| (format!("k{i}"), json!(i))).collect();
    let many: Vec<(&str, Value)> = many.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let spans = vec![
        span(
            &trace,
            "ok",
            None,
            "root",
            (base, 0.0, 5.0),
            &[("long", json!(long))],
        ),
        span(
            &trace,
            "many",
            Some("ok"),
            "many attributes",
            (base, 1.0, 1.0),
            &many,
        ),
        bad,
    ];
    let answer = export(app, auth, &request("svc", spans));
    assert_refused(&answer, "1", "span");
    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["span_count"], 2);
    let spans = spans_by_name(&detail);
    let root = &spans["root"];
    assert_eq!(root["truncated"], true);
    assert!(string(&root["attributes"]["long"]).len() <= 16 * 1024);
    let many = &spans["many attributes"];
    assert_eq!(many["truncated"], true);
    assert!(many["attributes"].as_object().unwrap().len() <= 256);

    // Only cut, nothing refused: a warning with rejectedSpans 0.
    let trace = trace_id();
    let cut = span(
        &trace,
        "c",
        None,
        "cut",
        (base, 0.0, 1.0),
        &[("long", json!(long))],
    );
    let answer = export(app, auth, &request("svc", vec![cut]));
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "0", "{answer}");
}

#[test]
fn an_error_span_and_an_exception_event_become_an_error_issue_naming_the_trace_and_span() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let trace = trace_id();
    let base = base_ns();
    let kind = unique("RateLimitError");
    let mut failed = span(
        &trace,
        "failed",
        None,
        "chat gpt-4o",
        (base, 0.0, 20.0),
        &[("gen_ai.agent.name", json!("writer"))],
    );
    failed["status"] = json!({"code": 2, "message": "upstream said 429"});
    failed["events"] = json!([{
        "name": "exception",
        "timeUnixNano": (base + 10_000_000).to_string(),
        "attributes": [attr("exception.type", json!(kind)),
                       attr("exception.message", json!("Rate limit reached for gpt-4o")),
                       attr("exception.stacktrace", json!("Traceback: ...\n  at call()"))]
    }]);
    export(app, auth, &request("svc", vec![failed]));

    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["status"], "error");
    let span = &detail["spans"][0];
    assert_eq!(span["status"], "error");
    assert_eq!(span["status_message"], "upstream said 429");
    assert_eq!(span["events"][0]["name"], "exception");

    let issues = app.get("/api/errors", auth).expect(200);
    let issue = issues["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == kind.as_str())
        .unwrap_or_else(|| panic!("no issue of type {kind}: {issues}"))
        .clone();
    let detail = app
        .get(&format!("/api/errors/{}", string(&issue["id"])), auth)
        .expect(200);
    let occurrence = &detail["occurrences"][0];
    assert_eq!(
        occurrence["context"]["trace_id"],
        trace.as_str(),
        "{detail}"
    );
    assert_eq!(occurrence["context"]["span_id"], span["span_id"]);
    assert_eq!(occurrence["trace_id"], trace.as_str());
    assert_eq!(occurrence["span_id"], span["span_id"]);
    assert_eq!(occurrence["agent"], "writer");
    assert!(string(&occurrence["stack"]).contains("Traceback"));
    let notes = app.get("/api/notifications", auth).expect(200);
    assert!(
        notes.to_string().contains(&kind),
        "error.new is raised: {notes}"
    );
    // The list filters by status.
    let errors = app.get("/api/traces?status=error", auth).expect(200);
    assert!(ids(errors["data"].as_array().unwrap()).contains(&trace));
    let ok = app.get("/api/traces?status=ok", auth).expect(200);
    assert!(!ids(ok["data"].as_array().unwrap()).contains(&trace));
}

#[test]
fn undecodable_bodies_wrong_media_types_and_empty_requests_get_the_otlp_answers() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let c = cookie(auth);

    let garbage = app.request(
        "POST",
        OTLP,
        &[("Content-Type", PROTOBUF), ("Cookie", &c)],
        Some(&[0xff, 0xff, 0xff, 0x0f, 0x01]),
    );
    assert_eq!(garbage.status, 400, "{garbage}");
    assert_eq!(garbage.header("content-type"), Some(PROTOBUF));
    let status = proto::RpcStatus::decode(garbage.bytes.as_slice()).unwrap();
    assert_eq!(status.code, 3);
    assert!(!status.message.is_empty());

    let bad_json = app.post_raw(OTLP, b"{\"resourceSpans\": [", Some(JSON), auth);
    assert_eq!(bad_json.status, 400, "{bad_json}");
    assert_eq!(bad_json.json()["code"], 3);
    assert!(!string(&bad_json.json()["message"]).is_empty());
    let wrong_shape = app.post_raw(OTLP, b"{\"resourceSpans\": 7}", Some(JSON), auth);
    assert_eq!(wrong_shape.status, 400, "{wrong_shape}");

    let not_gzip = app.request(
        "POST",
        OTLP,
        &[
            ("Content-Type", JSON),
            ("Content-Encoding", "gzip"),
            ("Cookie", &c),
        ],
        Some(b"{}"),
    );
    assert_eq!(not_gzip.status, 400, "{not_gzip}");
    assert_eq!(not_gzip.json()["code"], 3);

    app.post_raw(OTLP, b"hello", Some("text/plain"), auth)
        .assert_error(415, "unsupported_media_type");
    app.request(
        "POST",
        OTLP,
        &[
            ("Content-Type", JSON),
            ("Content-Encoding", "br"),
            ("Cookie", &c),
        ],
        Some(b"{}"),
    )
    .assert_error(415, "unsupported_media_type");

    for content_type in [JSON, PROTOBUF] {
        let empty = app.post_raw(OTLP, b"", Some(content_type), auth);
        assert_eq!(empty.status, 200, "{empty}");
    }
    assert_eq!(export(app, auth, &json!({"resourceSpans": []})), json!({}));
    assert_eq!(export(app, auth, &json!({})), json!({}));
}

#[test]
fn bodies_over_10_mib_and_gzip_bombs_are_413_with_a_status_in_the_request_encoding() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let c = cookie(auth);
    let big = vec![b' '; 10 * 1024 * 1024 + 1];
    let resp = app.post_raw(OTLP, &big, Some(JSON), auth);
    assert_eq!(resp.status, 413, "{resp}");
    assert_eq!(resp.json()["code"], 8);

    // 11 MiB of zeros compresses to about 11 KiB.
    let bomb = gzip(&vec![0u8; 11 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024);
    let resp = app.request(
        "POST",
        OTLP,
        &[
            ("Content-Type", PROTOBUF),
            ("Content-Encoding", "gzip"),
            ("Cookie", &c),
        ],
        Some(&bomb),
    );
    assert_eq!(resp.status, 413, "{resp}");
    assert_eq!(
        proto::RpcStatus::decode(resp.bytes.as_slice())
            .unwrap()
            .code,
        8
    );
}

#[test]
fn a_viewer_cannot_export_and_another_teams_trace_is_404() {
    let app = app();
    let team = app.signup_team();
    let viewer = team.member(app, "viewer");
    let viewer_token = app.create_token(&team.owner.auth, "viewer").auth();
    let trace = trace_id();
    let body = request("svc", agent_trace(&trace, base_ns()));
    for auth in [&viewer.auth, &viewer_token] {
        app.post_raw(OTLP, body.to_string().as_bytes(), Some(JSON), auth)
            .assert_error(403, "forbidden");
    }
    app.post_raw(OTLP, body.to_string().as_bytes(), Some(JSON), &Auth::None)
        .assert_error(401, "unauthorized");
    let member = team.member(app, "member");
    export(app, &member.auth, &body);
    // Viewers read.
    trace_detail(app, &viewer.auth, &trace);
    trace_detail(app, &viewer_token, &trace);

    let other = app.signup_team();
    app.get(&format!("/api/traces/{trace}"), &other.owner.auth)
        .assert_error(404, "not_found");
    let theirs = app.get("/api/traces", &other.owner.auth).expect(200);
    assert_eq!(theirs["data"], json!([]));
    // The same ids exported by another team are that team's own trace.
    export(app, &other.owner.auth, &body);
    assert_eq!(
        trace_detail(app, &other.owner.auth, &trace)["span_count"],
        3
    );
    assert_eq!(trace_detail(app, &team.owner.auth, &trace)["span_count"], 3);
}

#[test]
fn the_list_filters_pages_and_refuses_bad_parameters() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let base = base_ns();
    let (a, b, c) = (trace_id(), trace_id(), trace_id());
    let mut spans = agent_trace(&a, base);
    spans.extend(agent_trace(&c, base + 2_000_000));
    export(app, auth, &request("alpha", spans));
    let other = vec![span(
        &b,
        "solo",
        None,
        "nightly summarise",
        (base + 1_000_000, 0.0, 3.0),
        &[
            ("gen_ai.agent.name", json!("summariser")),
            ("gen_ai.request.model", json!("claude-haiku-4-5")),
        ],
    )];
    export(app, auth, &request("beta", other));

    let listed = |query: &str| -> Vec<String> {
        let page = app.get(&format!("/api/traces{query}"), auth).expect(200);
        ids(page["data"].as_array().unwrap())
    };
    assert_eq!(
        listed(""),
        vec![c.clone(), b.clone(), a.clone()],
        "newest first"
    );
    assert_eq!(listed("?service=beta"), vec![b.clone()]);
    assert_eq!(listed("?agent=planner"), vec![c.clone(), a.clone()]);
    assert_eq!(listed("?model=claude-haiku-4-5"), vec![b.clone()]);
    assert_eq!(listed("?q=summar"), vec![b.clone()]);
    assert_eq!(listed("?q=execute_tool"), vec![c.clone(), a.clone()]);
    assert_eq!(listed("?q=100%25"), Vec::<String>::new(), "% is literal");
    assert_eq!(listed("?range=24h").len(), 3);
    let before = base / 1_000_000 - 3_600_000;
    let earlier = before - 3_600_000;
    assert_eq!(
        listed(&format!("?from={earlier}&to={before}")),
        Vec::<String>::new()
    );
    let later = before + 7_200_000;
    assert_eq!(listed(&format!("?from={before}&to={later}")).len(), 3);

    let first = app.get("/api/traces?limit=1", auth).expect(200);
    assert_eq!(ids(first["data"].as_array().unwrap()), vec![c.clone()]);
    let cursor = string(&first["next_cursor"]);
    let second = app
        .get(&format!("/api/traces?limit=2&cursor={cursor}"), auth)
        .expect(200);
    assert_eq!(
        ids(second["data"].as_array().unwrap()),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(app.walk("/api/traces", auth).len(), 3);

    for (query, field) in [
        ("status=broken", "status"),
        ("range=1y", "range"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let named = app
            .get(&format!("/api/traces?{query}"), auth)
            .invalid_fields();
        assert!(named.iter().any(|n| n == field), "{query}: {named:?}");
    }
    let long = "a".repeat(1025);
    assert!(app
        .get(&format!("/api/traces?q={long}"), auth)
        .invalid_fields()
        .contains(&"q".to_string()));
    // The longest allowed search is an answer, not a 500 (D1 refuses LIKE patterns over 50 bytes).
    let longest = "0".repeat(1024);
    app.get(&format!("/api/traces?q={longest}"), auth)
        .expect(200);

    // Ids: any case finds the trace; not 32 hex, or unknown, is 404.
    trace_detail(app, auth, &a.to_uppercase());
    for bad in ["nothex", &"0".repeat(32), &a[..31]] {
        app.get(&format!("/api/traces/{bad}"), auth)
            .assert_error(404, "not_found");
    }
}

#[test]
fn trace_reads_by_a_caller_already_seen_are_one_d1_round_trip() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let trace = trace_id();
    export(app, auth, &request("svc", agent_trace(&trace, base_ns())));
    for path in [
        "/api/traces".to_string(),
        "/api/traces?agent=planner&range=7d".to_string(),
        format!("/api/traces/{trace}"),
    ] {
        app.get(&path, auth).expect(200);
        let again = app.get(&path, auth);
        assert_eq!(again.header("x-d1-calls"), Some("1"), "{path}: {again}");
    }
}

#[test]
fn an_execution_is_a_trace_whose_http_step_sends_traceparent_and_whose_llm_step_has_its_cost() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let key = app.openai_key(auth);
    let marker = unique("traced");
    let steps = json!([
        {"id": "draft", "kind": "llm", "agent": "writer", "key_id": key, "model": "gpt-4o-mini",
         "prompt": format!("Say {marker}")},
        {"id": "notify", "kind": "http", "method": "POST", "url": format!("{}/hook", stand_in().base_url),
         "body": {"text": marker}},
    ]);
    let workflow = app.create_workflow(auth, steps);
    let execution = app.execute(auth, &string(&workflow["id"]), json!({}));
    let finished = app.wait_finished(auth, &execution);
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let trace = string(&finished["trace_id"]);
    assert_eq!(trace, execution.replace('-', "").to_lowercase());

    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["execution_id"], execution.as_str());
    assert_eq!(detail["span_count"], 3, "{detail}");
    assert_eq!(detail["service"], "beacon");
    assert_eq!(detail["name"], format!("run {}", string(&workflow["name"])));
    assert_eq!(detail["llm_calls"], 1);
    assert_eq!(detail["agents"], json!(["writer"]));
    let spans = spans_by_name(&detail);
    let (root, draft, notify) = (
        &spans[detail["name"].as_str().unwrap()],
        &spans["step draft"],
        &spans["step notify"],
    );
    assert_eq!(draft["parent_span_id"], root["span_id"]);
    assert_eq!(notify["parent_span_id"], root["span_id"]);
    assert_eq!(draft["status"], "ok");
    assert_eq!(draft["agent"], "writer");
    assert_eq!(draft["model"], "gpt-4o-mini");
    assert!(draft["tokens"]["total"].as_i64().unwrap() > 0, "{draft}");
    let step_cost = finished["steps"][0]["cost_nusd"].clone();
    assert_eq!(draft["cost_nusd"], step_cost, "the step's own cost");
    assert_eq!(detail["cost_nusd"], step_cost);
    assert_eq!(notify["tokens"], Value::Null);

    // The called service got the step's span as its parent.
    let calls = stand_in().requests_with(&marker);
    let hook = calls
        .iter()
        .find(|r| r.path == "/hook")
        .expect("the hook was called");
    let traceparent = hook.header("traceparent").expect("a traceparent header");
    assert_eq!(
        traceparent,
        format!("00-{trace}-{}-01", string(&notify["span_id"]))
    );
    // Its own spans, reported back with that parent, join the run's trace.
    let base = base_ns();
    let mut child = span(
        &trace,
        "downstream",
        None,
        "handle hook",
        (base, 0.0, 2.0),
        &[],
    );
    child["parentSpanId"] = notify["span_id"].clone();
    export(app, auth, &request("hook-service", vec![child]));
    let joined = trace_detail(app, auth, &trace);
    assert_eq!(joined["span_count"], 4);
    assert_eq!(joined["execution_id"], execution.as_str());
    assert_eq!(joined["name"], detail["name"], "still named for the run");
    let list = app.get("/api/traces?service=beacon", auth).expect(200);
    assert_eq!(list["data"][0]["execution_id"], execution.as_str());
}

#[test]
fn a_failed_run_is_an_error_trace_and_its_error_issue_names_the_step_span() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let workflow = app.hook_workflow(auth, "/hook/fail");
    let execution = app.execute(auth, &workflow, json!({}));
    let finished = app.wait_finished(auth, &execution);
    assert_eq!(finished["status"], "failed");
    let detail = trace_detail(app, auth, &string(&finished["trace_id"]));
    assert_eq!(detail["status"], "error");
    let step = &spans_by_name(&detail)["step a"];
    assert_eq!(step["status"], "error");
    assert!(!string(&step["status_message"]).is_empty());
    let issues = app.get("/api/errors", auth).expect(200);
    let issue = string(&issues["data"][0]["id"]);
    let issue = app.get(&format!("/api/errors/{issue}"), auth).expect(200);
    let occurrence = &issue["occurrences"][0];
    assert_eq!(occurrence["trace_id"], finished["trace_id"]);
    assert_eq!(occurrence["span_id"], step["span_id"]);
}

#[test]
fn a_span_with_an_impossible_token_count_is_refused_and_the_rest_are_stored() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    app.put_json(
        "/api/budgets",
        &json!({"monthly_usd": 1000, "enforce": false}),
        auth,
    )
    .expect(200);
    let trace = trace_id();
    let base = base_ns();
    let chat = |id: &str, input: Value| chat_span(&trace, id, base, "gpt-4o", (input, json!(5)));
    // Two counts past any call (one of them i64::MAX, which used to overflow the hourly rollup
    // and fail the whole export with a 500, so the exporter retried it forever).
    let spans = vec![
        chat("max", json!("9223372036854775807")),
        chat("huge", json!(1_000_000_001_i64)),
        chat("real", json!(100)),
    ];
    let answer = export(app, auth, &request("svc", spans));
    assert_refused(&answer, "2", "token count");
    let detail = trace_detail(app, auth, &trace);
    assert_eq!(detail["span_count"], 1, "{detail}");
    assert_eq!(detail["spans"][0]["name"], "real");
    let usage = app.get("/api/tokens/usage?range=24h", auth).expect(200);
    assert_eq!(usage["calls"], 1, "{usage}");
    for path in [
        "/api/traces",
        "/api/tokens/breakdown?by=model&range=24h",
        "/api/analytics/summary?range=24h",
        "/api/analytics/trends?metric=cost&range=24h",
        "/api/budgets",
    ] {
        app.get(path, auth).expect(200);
    }
}

#[test]
fn a_span_starting_in_the_far_future_is_refused_so_it_cannot_head_the_list_for_years() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let (future, now) = (trace_id(), trace_id());
    // A client whose clock says 2500 (or a bug writing microseconds as nanoseconds' tenfold).
    let year_2500 = 16_725_225_600_000_000_000_u64;
    let base = base_ns();
    let answer = export(
        app,
        auth,
        &request(
            "svc",
            vec![
                span(
                    &future,
                    "late",
                    None,
                    "from 2500",
                    (year_2500, 0.0, 1.0),
                    &[],
                ),
                // Five minutes ahead is a clock's skew, and kept.
                span(&now, "skewed", None, "skewed", (base, 300_000.0, 1.0), &[]),
            ],
        ),
    );
    assert_refused(&answer, "1", "10 minutes in the future");
    app.get(&format!("/api/traces/{future}"), auth).expect(404);
    let list = app.get("/api/traces", auth).expect(200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [now.as_str()], "{list}");
}

#[test]
fn a_call_is_priced_as_of_when_it_was_made_not_when_its_span_arrived() {
    let app = app();
    let team = app.signup_team();
    let auth = &team.owner.auth;
    let model = format!("model-{}", &trace_id()[..8]);
    let now = now_millis();
    // $1/M since forever, $2/M from half an hour ago.
    let overrides = json!({"overrides": [
        {"model_pattern": model, "input_usd": 1, "output_usd": 1},
        {"model_pattern": model, "input_usd": 2, "output_usd": 2, "effective_from": now - 1_800_000},
    ]});
    app.put_json("/api/pricing", &overrides, auth).expect(200);
    let trace = trace_id();
    let base = base_ns();
    let call =
        |id: &str, start_ns: u64| chat_span(&trace, id, start_ns, &model, (json!(1000), json!(0)));
    // An exporter's late retry: a call made an hour ago arrives now, beside one made now.
    let spans = vec![call("early", base - 3_600_000_000_000), call("late", base)];
    export(app, auth, &request("svc", spans));
    let detail = trace_detail(app, auth, &trace);
    let spans = spans_by_name(&detail);
    assert_eq!(spans["early"]["cost_nusd"], 1_000_000, "{detail}");
    assert_eq!(spans["late"]["cost_nusd"], 2_000_000, "{detail}");
    assert_eq!(detail["cost_nusd"], 3_000_000, "{detail}");
}
