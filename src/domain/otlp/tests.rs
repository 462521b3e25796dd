//! The receiver's core end to end: real protobuf bytes (encoded with prost), OTLP/JSON as the
//! OpenTelemetry JS exporter writes it limits, refusals and the answers.
//!
//! Compiled only for `cargo test` (`#[cfg(test)] mod tests;` in `mod.rs`): its `unwrap()`s fail a
//! test, never a request.

use prost::Message;
use serde_json::{json, Value};

use super::proto::{self, AnyValue, KeyValue, Value as Any};
use super::*;
use crate::domain::usage::Tokens;

const TRACE: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
const T0: u64 = 1_700_000_000_123_456_789;
/// The server's clock in these tests: a while after every fixture's time.
const NOW_MS: i64 = 1_700_000_100_000;

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Any::String(v.into())),
    })
}
fn i(v: i64) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Any::Int(v)),
    })
}
fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
    }
}
fn span_id(n: u8) -> Vec<u8> {
    vec![0xab, 0, 0, 0, 0, 0, 0, n]
}
fn span(n: u8, parent: Option<u8>, name: &str, attributes: Vec<KeyValue>) -> proto::Span {
    proto::Span {
        trace_id: TRACE.to_vec(),
        span_id: span_id(n),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.into(),
        kind: 3,
        start_time_unix_nano: T0 + u64::from(n) * 1_000_000,
        end_time_unix_nano: T0 + u64::from(n) * 1_000_000 + 2_500_250,
        attributes,
        events: Vec::new(),
        status: None,
    }
}
fn request(spans: Vec<proto::Span>) -> proto::ExportTraceServiceRequest {
    proto::ExportTraceServiceRequest {
        resource_spans: vec![proto::ResourceSpans {
            resource: Some(proto::Resource {
                attributes: vec![
                    kv("service.name", s("support-bot")),
                    kv("session.id", s("sess-1")),
                ],
            }),
            scope_spans: vec![proto::ScopeSpans {
                scope: Some(proto::InstrumentationScope {
                    name: "openai.agents".into(),
                }),
                spans,
            }],
        }],
    }
}
fn normalize_one(span: proto::Span) -> Result<Span, &'static str> {
    let resource = span::ResourceInfo::default();
    span::normalize(span, &resource, None, NOW_MS)
}
fn agent_trace() -> proto::ExportTraceServiceRequest {
    request(vec![
        span(
            1,
            None,
            "invoke_agent planner",
            vec![
                kv("gen_ai.operation.name", s("invoke_agent")),
                kv("gen_ai.agent.name", s("planner")),
            ],
        ),
        span(
            2,
            Some(1),
            "chat gpt-4o",
            vec![
                kv("gen_ai.operation.name", s("chat")),
                kv("gen_ai.provider.name", s("openai")),
                kv("gen_ai.request.model", s("gpt-4o")),
                kv("gen_ai.response.model", s("gpt-4o-2024-08-06")),
                kv("gen_ai.usage.input_tokens", i(1000)),
                kv("gen_ai.usage.cache_read.input_tokens", i(800)),
                kv("gen_ai.usage.output_tokens", i(300)),
                kv("gen_ai.usage.reasoning.output_tokens", i(120)),
                kv("gen_ai.conversation.id", s("conv-9")),
            ],
        ),
        span(
            3,
            Some(2),
            "execute_tool search",
            vec![
                kv("gen_ai.operation.name", s("execute_tool")),
                kv("gen_ai.tool.name", s("search")),
            ],
        ),
    ])
}

// --- protobuf -------------------------------------------------------------------------------

#[test]
fn a_protobuf_agent_trace_becomes_spans_with_genai_fields_and_disjoint_buckets() {
    let body = agent_trace().encode_to_vec();
    let batch = receive(&body, Encoding::Protobuf, NOW_MS).unwrap();
    assert_eq!(batch.rejected, 0);
    assert_eq!(batch.partial_success(), None);
    let [agent, chat, tool] = &batch.spans[..] else {
        panic!("three spans")
    };
    assert_eq!(agent.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(agent.span_id, "ab00000000000001");
    assert_eq!(agent.parent_span_id, None);
    assert_eq!(chat.parent_span_id.as_deref(), Some("ab00000000000001"));
    assert_eq!(chat.kind.as_str(), "client");
    assert_eq!(chat.status.as_str(), "unset");
    assert_eq!(chat.service.as_deref(), Some("support-bot"));
    assert_eq!(chat.session_id.as_deref(), Some("sess-1"));
    assert_eq!(chat.scope.as_deref(), Some("openai.agents"));
    assert_eq!(chat.gen_ai.operation.as_deref(), Some("chat"));
    assert_eq!(chat.gen_ai.provider.as_deref(), Some("openai"));
    assert_eq!(chat.gen_ai.model(), Some("gpt-4o-2024-08-06"));
    assert_eq!(chat.gen_ai.conversation_id.as_deref(), Some("conv-9"));
    assert_eq!(
        chat.tokens,
        Some(Tokens {
            input: 200,
            cache_read: 800,
            cache_write: 0,
            output: 180,
            reasoning: 120
        })
    );
    assert!(chat.is_llm_call() && !agent.is_llm_call() && !tool.is_llm_call());
    assert_eq!(tool.gen_ai.tool.as_deref(), Some("search"));
    // The agent is the span's own, or its nearest ancestor's.
    assert_eq!(agent.agent.as_deref(), Some("planner"));
    assert_eq!(chat.gen_ai.agent, None);
    assert_eq!(chat.agent.as_deref(), Some("planner"));
    assert_eq!(tool.agent.as_deref(), Some("planner"));
    // GenAI attributes stay in the attribute map too.
    let attrs: Value = serde_json::from_str(&chat.attributes).unwrap();
    assert_eq!(attrs["gen_ai.usage.input_tokens"], 1000);
    assert_eq!(attrs["gen_ai.request.model"], "gpt-4o");
    assert!(!chat.truncated);
}

#[test]
fn times_keep_sub_millisecond_precision() {
    let batch = receive(&agent_trace().encode_to_vec(), Encoding::Protobuf, NOW_MS).unwrap();
    let chat = &batch.spans[1];
    assert!((chat.start_ms - 1_700_000_000_125.456_8).abs() < 1e-3);
    assert!((chat.duration_ms - 2.50025).abs() < 1e-9);
    assert!((chat.end_ms - chat.start_ms - chat.duration_ms).abs() < 1e-3);
    assert_eq!(chat.started_at(), 1_700_000_000_125);
    assert_eq!(span::nanos_to_ms(1_500_000), 1.5);
}

/// A span as the full schema has it, with fields Beacon does not read.
#[derive(Clone, PartialEq, Message)]
struct FullSpan {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    trace_state: String,
    #[prost(string, tag = "5")]
    name: String,
    #[prost(fixed64, tag = "7")]
    start_time_unix_nano: u64,
    #[prost(uint32, tag = "10")]
    dropped_attributes_count: u32,
    #[prost(message, repeated, tag = "13")]
    links: Vec<FullLink>,
    #[prost(fixed32, tag = "16")]
    flags: u32,
}
#[derive(Clone, PartialEq, Message)]
struct FullLink {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
}
#[derive(Clone, PartialEq, Message)]
struct FullScopeSpans {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<FullSpan>,
    #[prost(string, tag = "3")]
    schema_url: String,
}
#[derive(Clone, PartialEq, Message)]
struct FullResourceSpans {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<FullScopeSpans>,
    #[prost(string, tag = "3")]
    schema_url: String,
}
#[derive(Clone, PartialEq, Message)]
struct FullRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<FullResourceSpans>,
}

#[test]
fn protobuf_fields_beacon_does_not_read_are_skipped() {
    let full = FullRequest {
        resource_spans: vec![FullResourceSpans {
            schema_url: "https://opentelemetry.io/schemas/1.37.0".into(),
            scope_spans: vec![FullScopeSpans {
                schema_url: "x".into(),
                spans: vec![FullSpan {
                    trace_id: TRACE.to_vec(),
                    span_id: span_id(7),
                    trace_state: "vendor=1".into(),
                    name: "linked".into(),
                    start_time_unix_nano: T0,
                    dropped_attributes_count: 3,
                    links: vec![FullLink {
                        trace_id: TRACE.to_vec(),
                        span_id: span_id(1),
                    }],
                    flags: 0x301,
                }],
            }],
        }],
    };
    let batch = receive(&full.encode_to_vec(), Encoding::Protobuf, NOW_MS).unwrap();
    assert_eq!(batch.spans.len(), 1);
    assert_eq!(batch.spans[0].name, "linked");
    // No end time: the span ends when it starts.
    assert_eq!(batch.spans[0].duration_ms, 0.0);
}

#[test]
fn garbage_and_empty_bodies() {
    let err = receive(b"\xff\xff\xff\xff not protobuf", Encoding::Protobuf, NOW_MS).unwrap_err();
    assert_eq!(err.status(), (400, code::INVALID_ARGUMENT));
    assert!(matches!(err, ReceiveError::Malformed(_)));
    for enc in [Encoding::Protobuf, Encoding::Json] {
        assert_eq!(receive(b"", enc, NOW_MS).unwrap(), Batch::default());
    }
    assert_eq!(
        receive(b"{}", Encoding::Json, NOW_MS).unwrap(),
        Batch::default()
    );
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        receive(&big, Encoding::Json, NOW_MS).unwrap_err(),
        ReceiveError::TooLarge
    );
}

#[test]
fn deeply_nested_values_are_refused_not_a_stack_overflow() {
    let mut value = AnyValue {
        value: Some(Any::String("leaf".into())),
    };
    for _ in 0..200 {
        value = AnyValue {
            value: Some(Any::Array(proto::ArrayValue {
                values: vec![value],
            })),
        };
    }
    let body = request(vec![span(1, None, "deep", vec![kv("a", Some(value))])]).encode_to_vec();
    assert!(receive(&body, Encoding::Protobuf, NOW_MS).is_err());
    let deep_json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"a","value":{}"x"{}}}]}}]}}]}}]}}"#,
        r#"{"arrayValue":{"values":["#.repeat(200),
        "]}}".repeat(200)
    );
    assert!(receive(deep_json.as_bytes(), Encoding::Json, NOW_MS).is_err());
}

// --- OTLP/JSON ------------------------------------------------------------------------------

/// What `@opentelemetry/exporter-trace-otlp-http` sends (JsonTraceSerializer): hex ids, nanos as
/// strings, integer enums, zero counts and empty lists written out.
const JS_EXPORT: &str = r#"{"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"node-agent"}},
  {"key":"telemetry.sdk.language","value":{"stringValue":"nodejs"}}],"droppedAttributesCount":0},
 "scopeSpans":[{"scope":{"name":"agent-demo","version":"1.0.0"},"spans":[
  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",
   "traceState":"","name":"chat claude-sonnet-4","kind":3,"startTimeUnixNano":"1700000000123456789",
   "endTimeUnixNano":"1700000001123456789","attributes":[
     {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
     {"key":"gen_ai.system","value":{"stringValue":"anthropic"}},
     {"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4"}},
     {"key":"gen_ai.usage.input_tokens","value":{"intValue":1200}},
     {"key":"gen_ai.usage.cache_creation.input_tokens","value":{"intValue":"200"}},
     {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":900}},
     {"key":"gen_ai.usage.output_tokens","value":{"intValue":50}},
     {"key":"temperature","value":{"doubleValue":0.2}},
     {"key":"stream","value":{"boolValue":false}},
     {"key":"stop","value":{"arrayValue":{"values":[{"stringValue":"\n\n"}]}}},
     {"key":"meta","value":{"kvlistValue":{"values":[{"key":"k","value":{"intValue":"7"}}]}}},
     {"key":"blob","value":{"bytesValue":"AQID"}}],
   "droppedAttributesCount":0,"events":[{"timeUnixNano":"1700000000523456789","name":"exception",
     "attributes":[{"key":"exception.type","value":{"stringValue":"RateLimitError"}},
                   {"key":"exception.message","value":{"stringValue":"429 Too Many Requests"}},
                   {"key":"exception.stacktrace","value":{"stringValue":"at call (agent.js:10)"}}],
     "droppedAttributesCount":0}],
   "droppedEventsCount":0,"status":{"code":2,"message":"rate limited"},"links":[],"droppedLinksCount":0,"flags":257}
 ]}]}]}"#;

#[test]
fn otlp_json_from_the_js_exporter() {
    let batch = receive(JS_EXPORT.as_bytes(), Encoding::Json, NOW_MS).unwrap();
    assert_eq!(batch.rejected, 0);
    let span = &batch.spans[0];
    assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(span.service.as_deref(), Some("node-agent"));
    assert_eq!(span.scope.as_deref(), Some("agent-demo"));
    assert_eq!(span.gen_ai.provider.as_deref(), Some("anthropic"));
    assert_eq!(span.duration_ms, 1000.0);
    assert_eq!(span.status, SpanStatus::Error);
    assert_eq!(span.status_message.as_deref(), Some("rate limited"));
    assert_eq!(
        span.tokens,
        Some(Tokens {
            input: 100,
            cache_read: 900,
            cache_write: 200,
            output: 50,
            reasoning: 0
        })
    );
    let attrs: Value = serde_json::from_str(&span.attributes).unwrap();
    assert_eq!(attrs["temperature"], 0.2);
    assert_eq!(attrs["stream"], false);
    assert_eq!(attrs["stop"], json!(["\n\n"]));
    assert_eq!(attrs["meta"], json!({"k": 7}));
    assert_eq!(attrs["blob"], "AQID");
    // The exception event is an error, and the ERROR status adds none of its own.
    assert_eq!(
        span.errors,
        vec![SpanError {
            kind: "RateLimitError".into(),
            message: "429 Too Many Requests".into(),
            stack: Some("at call (agent.js:10)".into()),
            at_ms: 1_700_000_000_523.456_8,
            http_status: None,
        }]
    );
    assert_eq!(span.errors[0].severity().as_str(), "medium");
    let events: Value = serde_json::from_str(&span.events).unwrap();
    assert_eq!(events[0]["name"], "exception");
    assert_eq!(events[0]["attributes"]["exception.type"], "RateLimitError");
}

#[test]
fn otlp_json_in_snake_case_with_numbers_names_and_base64_ids() {
    let body = json!({"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": "W47/95gDgQPSabYzgT/GDA==", "span_id": "7uGbfsPBsXQ=",
        "name": "plain", "kind": "SPAN_KIND_SERVER",
        "start_time_unix_nano": 1_700_000_000_000_000_000u64, "end_time_unix_nano": 1_700_000_000_002_000_000u64,
        "status": {"code": "STATUS_CODE_OK"},
        "attributes": [{"key": "n", "value": {"int_value": 5}}, {"key": "d", "value": {"doubleValue": "NaN"}},
                       {"key": "empty", "value": {}}],
        "unknown": {"whatever": [1, 2, 3]}
    }]}]}]});
    let batch = receive(body.to_string().as_bytes(), Encoding::Json, NOW_MS).unwrap();
    let span = &batch.spans[0];
    assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.span_id, "eee19b7ec3c1b174");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.status, SpanStatus::Ok);
    assert_eq!(span.duration_ms, 2.0);
    let attrs: Value = serde_json::from_str(&span.attributes).unwrap();
    assert_eq!(attrs, json!({"n": 5, "d": null, "empty": null}));
}

#[test]
fn otlp_json_of_the_wrong_shape_is_a_decoding_error() {
    for body in [
        "not json",
        "[]",
        r#"{"resourceSpans": {}}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "sideways"}]}]}]}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": -1}]}]}]}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": "a", "value": {"intValue": "x"}}]}]}]}]}"#,
    ] {
        let err = receive(body.as_bytes(), Encoding::Json, NOW_MS).unwrap_err();
        assert!(matches!(err, ReceiveError::Malformed(_)), "{body}");
    }
}

// --- refusals -------------------------------------------------------------------------------

#[test]
fn a_span_starting_past_the_clock_skew_is_refused_and_one_within_it_kept() {
    let skew_ns = crate::domain::telemetry::MAX_FUTURE_MS as u64 * 1_000_000;
    let now_ns = NOW_MS as u64 * 1_000_000;
    let mut at_the_bound = span(1, None, "at the bound", vec![]);
    at_the_bound.start_time_unix_nano = now_ns + skew_ns;
    at_the_bound.end_time_unix_nano = now_ns + skew_ns + 1_000_000;
    let mut past_it = span(2, None, "past it", vec![]);
    past_it.start_time_unix_nano = now_ns + skew_ns + 1_000_000;
    let mut far = span(3, None, "year 2500", vec![]);
    far.start_time_unix_nano = 16_725_225_600_000_000_000;
    // An end in the future is a long-running span's, not a clock's fault.
    let mut ends_later = span(4, None, "ends later", vec![]);
    ends_later.end_time_unix_nano = u64::MAX;
    let body = request(vec![at_the_bound, past_it, far, ends_later]).encode_to_vec();
    let batch = receive(&body, Encoding::Protobuf, NOW_MS).unwrap();
    let names: Vec<_> = batch.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["at the bound", "ends later"]);
    assert_eq!(batch.rejected, 2);
    assert_eq!(
        batch.partial_success().unwrap().error_message,
        format!("2 span(s) rejected; the first: {}", span::FUTURE_START)
    );
    assert!(span::FUTURE_START.contains("10 minutes"));
}

#[test]
fn spans_with_bad_ids_are_refused_alone_and_counted() {
    let mut zero_trace = span(1, None, "zero trace", vec![]);
    zero_trace.trace_id = vec![0; 16];
    let mut short_span = span(2, None, "short span id", vec![]);
    short_span.span_id = vec![1, 2, 3];
    let mut zero_span = span(3, None, "zero span id", vec![]);
    zero_span.span_id = vec![0; 8];
    let mut bad_parent = span(4, None, "bad parent", vec![]);
    bad_parent.parent_span_id = vec![1; 4];
    let mut zero_parent = span(5, None, "zero parent is a root", vec![]);
    zero_parent.parent_span_id = vec![0; 8];
    let mut no_start = span(6, None, "no start", vec![]);
    no_start.start_time_unix_nano = 0;
    let good = span(7, None, "good", vec![]);
    let body = request(vec![
        zero_trace,
        short_span,
        zero_span,
        bad_parent,
        zero_parent,
        no_start,
        good,
    ])
    .encode_to_vec();
    let batch = receive(&body, Encoding::Protobuf, NOW_MS).unwrap();
    let names: Vec<_> = batch.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["zero parent is a root", "good"]);
    assert_eq!(batch.spans[0].parent_span_id, None);
    assert_eq!(batch.rejected, 5);
    let partial = batch.partial_success().unwrap();
    assert_eq!(partial.rejected_spans, 5);
    assert_eq!(
        partial.error_message,
        "5 span(s) rejected; the first: invalid trace id"
    );
}

#[test]
fn json_ids_that_are_not_hex_refuse_their_span() {
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "zz8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "startTimeUnixNano": "1"},
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "parentSpanId": "nothex!", "startTimeUnixNano": "1"},
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174", "parentSpanId": "", "startTimeUnixNano": "1"},
        {"spanId": "eee19b7ec3c1b174", "startTimeUnixNano": "1"}
    ]}]}]});
    let batch = receive(body.to_string().as_bytes(), Encoding::Json, NOW_MS).unwrap();
    assert_eq!(batch.rejected, 3);
    assert_eq!(batch.spans.len(), 1);
    assert_eq!(batch.spans[0].trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(batch.spans[0].parent_span_id, None);
}

// --- GenAI conventions ----------------------------------------------------------------------

fn tokens_of(attributes: Vec<KeyValue>) -> Option<Tokens> {
    normalize_one(span(1, None, "call", attributes))
        .unwrap()
        .tokens
}

#[test]
fn token_buckets_never_overlap_nor_go_negative() {
    // Older names: prompt/completion tokens, cache_creation.
    assert_eq!(
        tokens_of(vec![
            kv("gen_ai.usage.prompt_tokens", i(500)),
            kv("gen_ai.usage.completion_tokens", i(40)),
            kv("gen_ai.usage.cache_creation.input_tokens", i(100)),
        ]),
        Some(Tokens {
            input: 400,
            cache_read: 0,
            cache_write: 100,
            output: 40,
            reasoning: 0
        })
    );
    // The current names win over the older ones, whatever their order.
    assert_eq!(
        tokens_of(vec![
            kv("gen_ai.usage.cache_write.input_tokens", i(10)),
            kv("gen_ai.usage.cache_creation.input_tokens", i(99)),
            kv("gen_ai.usage.prompt_tokens", i(999)),
            kv("gen_ai.usage.input_tokens", i(50)),
        ])
        .map(|t| (t.input, t.cache_write)),
        Some((40, 10))
    );
    // More cached than input, more reasoning than output, negatives: saturate at 0.
    let t = tokens_of(vec![
        kv("gen_ai.usage.input_tokens", i(10)),
        kv("gen_ai.usage.cache_read.input_tokens", i(50)),
        kv("gen_ai.usage.output_tokens", i(-5)),
        kv("gen_ai.usage.reasoning.output_tokens", i(7)),
    ])
    .unwrap();
    assert_eq!(
        t,
        Tokens {
            input: 0,
            cache_read: 50,
            cache_write: 0,
            output: 0,
            reasoning: 7
        }
    );
    // Counts as strings or doubles; zero usage is still an LLM call; no usage is not.
    assert_eq!(
        tokens_of(vec![
            kv("gen_ai.usage.input_tokens", s("12")),
            kv(
                "gen_ai.usage.output_tokens",
                Some(AnyValue {
                    value: Some(Any::Double(3.0))
                })
            ),
        ])
        .map(|t| t.total()),
        Some(15)
    );
    assert_eq!(
        tokens_of(vec![kv("gen_ai.usage.input_tokens", i(0))]),
        Some(Tokens::default())
    );
    assert_eq!(
        tokens_of(vec![kv("gen_ai.request.model", s("gpt-4o"))]),
        None
    );
    assert_eq!(
        tokens_of(vec![kv("gen_ai.usage.input_tokens", s("lots"))]),
        None
    );
}

#[test]
fn provider_falls_back_to_gen_ai_system() {
    let provider = |attrs| {
        normalize_one(span(1, None, "x", attrs))
            .unwrap()
            .gen_ai
            .provider
    };
    assert_eq!(
        provider(vec![kv("gen_ai.system", s("openai"))]).as_deref(),
        Some("openai")
    );
    assert_eq!(
        provider(vec![
            kv("gen_ai.provider.name", s("azure.ai.openai")),
            kv("gen_ai.system", s("openai"))
        ])
        .as_deref(),
        Some("azure.ai.openai")
    );
    assert_eq!(
        provider(vec![
            kv("gen_ai.system", s("openai")),
            kv("gen_ai.provider.name", s("azure.ai.openai"))
        ])
        .as_deref(),
        Some("azure.ai.openai")
    );
    assert_eq!(provider(vec![kv("gen_ai.system", s("  "))]), None);
}

fn messages(span: &Span) -> (Value, Value) {
    let parse = |m: &Option<String>| {
        m.as_deref()
            .map_or(Value::Null, |m| serde_json::from_str(m).unwrap())
    };
    (parse(&span.input_messages), parse(&span.output_messages))
}

#[test]
fn messages_from_json_strings_and_structured_values() {
    let structured_output = AnyValue {
        value: Some(Any::Array(proto::ArrayValue {
            values: vec![AnyValue {
                value: Some(Any::Kvlist(proto::KeyValueList {
                    values: vec![
                        kv("role", s("assistant")),
                        kv("finish_reason", s("stop")),
                        kv(
                            "parts",
                            Some(AnyValue {
                                value: Some(Any::Array(proto::ArrayValue {
                                    values: vec![AnyValue {
                                        value: Some(Any::Kvlist(proto::KeyValueList {
                                            values: vec![
                                                kv("type", s("text")),
                                                kv("content", s("Paris.")),
                                            ],
                                        })),
                                    }],
                                })),
                            }),
                        ),
                    ],
                })),
            }],
        })),
    };
    let span = normalize_one(span(
        1,
        None,
        "chat",
        vec![
            kv(
                "gen_ai.input.messages",
                s(r#"[{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]"#),
            ),
            kv("gen_ai.output.messages", Some(structured_output)),
            kv(
                "gen_ai.system_instructions",
                s(r#"[{"type":"text","content":"Be brief."}]"#),
            ),
            kv("gen_ai.request.model", s("gpt-4o")),
        ],
    ))
    .unwrap();
    let (input, output) = messages(&span);
    assert_eq!(
        input,
        json!([
            {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
            {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}
        ])
    );
    assert_eq!(
        output,
        json!([{"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": "Paris."}]}])
    );
    // The messages are not repeated in the attribute map.
    let attrs: Value = serde_json::from_str(&span.attributes).unwrap();
    assert_eq!(attrs, json!({"gen_ai.request.model": "gpt-4o"}));
}

#[test]
fn plain_text_and_older_message_shapes_become_role_and_parts() {
    let span = normalize_one(span(
        1,
        None,
        "chat",
        vec![
            kv("gen_ai.system_instructions", s("You are terse.")),
            kv("gen_ai.prompt", s(r#"[{"role":"user","content":"hi"}]"#)),
            kv("gen_ai.output.messages", s("plain answer")),
        ],
    ))
    .unwrap();
    let (input, output) = messages(&span);
    assert_eq!(
        input,
        json!([
            {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
            {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
        ])
    );
    assert_eq!(
        output,
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "plain answer"}]}])
    );
}

#[test]
fn flattened_openllmetry_messages_are_gathered_in_order() {
    let span = normalize_one(span(
        1,
        None,
        "openai.chat",
        vec![
            kv("gen_ai.prompt.1.role", s("user")),
            kv("gen_ai.prompt.1.content", s("second")),
            kv("gen_ai.prompt.0.role", s("system")),
            kv("gen_ai.prompt.0.content", s("first")),
            kv("gen_ai.completion.0.role", s("assistant")),
            kv("gen_ai.completion.0.content", s("answer")),
            kv("gen_ai.completion.0.finish_reason", s("stop")),
            kv("gen_ai.prompt.note", s("not a message")),
            kv("gen_ai.usage.cache_read_input_tokens", i(3)),
        ],
    ))
    .unwrap();
    let (input, output) = messages(&span);
    assert_eq!(
        input,
        json!([
            {"role": "system", "parts": [{"type": "text", "content": "first"}]},
            {"role": "user", "parts": [{"type": "text", "content": "second"}]}
        ])
    );
    assert_eq!(output[0]["finish_reason"], "stop");
    assert_eq!(span.tokens.map(|t| t.cache_read), Some(3));
    let attrs: Value = serde_json::from_str(&span.attributes).unwrap();
    assert_eq!(attrs["gen_ai.prompt.note"], "not a message");
    assert!(attrs.get("gen_ai.prompt.0.content").is_none());
}

fn event(name: &str, attributes: Vec<KeyValue>) -> proto::Event {
    proto::Event {
        time_unix_nano: T0,
        name: name.into(),
        attributes,
    }
}

#[test]
fn messages_from_span_events_when_no_attribute_carries_them() {
    let mut raw = span(1, None, "chat", vec![]);
    raw.events = vec![
        event("gen_ai.system.message", vec![kv("content", s("Be kind."))]),
        event("gen_ai.user.message", vec![kv("content", s("Hello"))]),
        event(
            "gen_ai.choice",
            vec![
                kv("index", i(0)),
                kv("finish_reason", s("stop")),
                kv("message.content", s("Hi!")),
            ],
        ),
        event("annotation", vec![kv("note", s("kept"))]),
    ];
    let span = normalize_one(raw).unwrap();
    let (input, output) = messages(&span);
    assert_eq!(
        input,
        json!([
            {"role": "system", "parts": [{"type": "text", "content": "Be kind."}]},
            {"role": "user", "parts": [{"type": "text", "content": "Hello"}]}
        ])
    );
    assert_eq!(
        output,
        json!([{"role": "assistant", "index": 0, "finish_reason": "stop", "parts": [{"type": "text", "content": "Hi!"}]}])
    );
    let events: Value = serde_json::from_str(&span.events).unwrap();
    assert_eq!(events.as_array().map(Vec::len), Some(1));
    assert_eq!(events[0]["name"], "annotation");

    let mut old = span_with_events(vec![
        event(
            "gen_ai.content.prompt",
            vec![kv("gen_ai.prompt", s(r#"[{"role":"user","content":"q"}]"#))],
        ),
        event(
            "gen_ai.content.completion",
            vec![kv("gen_ai.completion", s("a"))],
        ),
    ]);
    let (input, output) = messages(&normalize_one(old.remove(0)).unwrap());
    assert_eq!(input[0]["parts"][0]["content"], "q");
    assert_eq!(output[0]["parts"][0]["content"], "a");
}

fn span_with_events(events: Vec<proto::Event>) -> Vec<proto::Span> {
    let mut raw = span(1, None, "chat", vec![]);
    raw.events = events;
    vec![raw]
}

#[test]
fn an_error_status_without_an_exception_is_one_error() {
    let mut raw = span(
        1,
        None,
        "call tool",
        vec![
            kv("error.type", s("timeout")),
            kv("http.response.status_code", i(504)),
        ],
    );
    raw.status = Some(proto::Status {
        message: "deadline exceeded".into(),
        code: 2,
    });
    let span = normalize_one(raw).unwrap();
    assert_eq!(span.errors.len(), 1);
    assert_eq!(span.errors[0].kind, "timeout");
    assert_eq!(span.errors[0].message, "deadline exceeded");
    assert_eq!(span.errors[0].at_ms, span.end_ms);
    assert_eq!(span.errors[0].http_status, Some(504));
    assert_eq!(span.errors[0].severity().as_str(), "high");

    let mut bare = span_with_events(vec![]).pop().unwrap();
    bare.status = Some(proto::Status {
        message: String::new(),
        code: 2,
    });
    let span = normalize_one(bare).unwrap();
    assert_eq!(
        (
            span.errors[0].kind.as_str(),
            span.errors[0].message.as_str()
        ),
        ("span_error", "chat failed")
    );
    // An exception on a span that did not fail is still an error occurrence.
    let handled = normalize_one(
        span_with_events(vec![event(
            "exception",
            vec![kv("exception.message", s("retrying"))],
        )])
        .remove(0),
    )
    .unwrap();
    assert_eq!(handled.status, SpanStatus::Unset);
    assert_eq!(handled.errors[0].kind, "exception");
    assert_eq!(handled.errors[0].message, "retrying");
}

// --- limits ---------------------------------------------------------------------------------

#[test]
fn attributes_past_the_limits_are_cut_and_the_span_says_so() {
    let mut attrs: Vec<KeyValue> = (0..300).map(|n| kv(&format!("k{n:03}"), i(n))).collect();
    attrs.insert(0, kv("long", s(&"é".repeat(10_000))));
    let big = normalize_one(span(1, None, "big", attrs)).unwrap();
    assert!(big.truncated);
    let attrs: Value = serde_json::from_str(&big.attributes).unwrap();
    let attrs = attrs.as_object().unwrap();
    assert_eq!(attrs.len(), values::MAX_ATTRIBUTES);
    let long = attrs["long"].as_str().unwrap();
    assert_eq!(long.len(), values::MAX_VALUE_BYTES);
    assert!(long.chars().all(|c| c == 'é'));

    // Strings inside arrays share the value's budget; a huge array of numbers is cut too.
    let many = AnyValue {
        value: Some(Any::Array(proto::ArrayValue {
            values: (0..100_000)
                .map(|n| AnyValue {
                    value: Some(Any::Int(n)),
                })
                .collect(),
        })),
    };
    let many = normalize_one(span(1, None, "many", vec![kv("many", Some(many))])).unwrap();
    assert!(many.truncated);
    assert!(many.attributes.len() < 2 * values::MAX_VALUE_BYTES);
}

#[test]
fn events_past_the_limit_are_dropped() {
    let events = (0..200)
        .map(|n| event(&format!("e{n}"), vec![kv("n", i(n))]))
        .collect();
    let span = normalize_one(span_with_events(events).remove(0)).unwrap();
    let events: Value = serde_json::from_str(&span.events).unwrap();
    assert_eq!(events.as_array().map(Vec::len), Some(values::MAX_EVENTS));
    assert_eq!(events[0]["name"], "e0");
    assert!(span.truncated);
}

#[test]
fn message_content_shares_64_kib_between_input_and_output() {
    let big = |role: &str| {
        json!([{"role": role, "parts": [{"type": "text", "content": "x".repeat(100_000)}]}])
            .to_string()
    };
    let both = normalize_one(span(
        1,
        None,
        "chat",
        vec![
            kv("gen_ai.input.messages", s(&big("user"))),
            kv("gen_ai.output.messages", s(&big("assistant"))),
        ],
    ))
    .unwrap();
    assert!(both.truncated);
    let (input, output) = messages(&both);
    let len = |v: &Value| v[0]["parts"][0]["content"].as_str().unwrap().len();
    let total = len(&input) + len(&output);
    assert!(total <= values::MAX_MESSAGE_BYTES && total > values::MAX_MESSAGE_BYTES - 100);
    assert!(len(&output) > 30_000, "the output is not starved");
    assert_eq!(input[0]["role"], "user");

    // A small input leaves the rest of the budget to the output.
    let small_input = normalize_one(span(
        1,
        None,
        "chat",
        vec![
            kv("gen_ai.input.messages", s("short question")),
            kv("gen_ai.output.messages", s(&big("assistant"))),
        ],
    ))
    .unwrap();
    let (input, output) = messages(&small_input);
    assert_eq!(input[0]["parts"][0]["content"], "short question");
    assert!(len(&output) > 60_000);

    // Everything stored but cut: a warning in partial_success with nothing rejected.
    let batch = Batch {
        spans: vec![both],
        ..Batch::default()
    };
    let partial = batch.partial_success().unwrap();
    assert_eq!(partial.rejected_spans, 0);
    assert!(partial
        .error_message
        .starts_with("1 span(s) stored with values cut"));
}

#[test]
fn long_names_are_cut() {
    let span = normalize_one(span(
        1,
        None,
        &"n".repeat(5000),
        vec![kv("gen_ai.request.model", s(&"m".repeat(5000)))],
    ))
    .unwrap();
    assert_eq!(span.name.len(), values::MAX_NAME_BYTES);
    assert_eq!(
        span.gen_ai.request_model.as_deref().map(str::len),
        Some(values::MAX_NAME_BYTES)
    );
    assert!(span.truncated);
}

// --- answers --------------------------------------------------------------------------------

#[test]
fn answers_in_both_encodings() {
    assert!(encode_response(Encoding::Protobuf, None).is_empty());
    assert_eq!(encode_response(Encoding::Json, None), b"{}");
    let partial = PartialSuccess {
        rejected_spans: 2,
        error_message: "2 span(s) rejected".into(),
    };
    let bytes = encode_response(Encoding::Protobuf, Some(&partial));
    let decoded = proto::ExportTraceServiceResponse::decode(&bytes[..]).unwrap();
    assert_eq!(
        decoded.partial_success,
        Some(proto::ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "2 span(s) rejected".into()
        })
    );
    let json: Value =
        serde_json::from_slice(&encode_response(Encoding::Json, Some(&partial))).unwrap();
    assert_eq!(
        json,
        json!({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "2 span(s) rejected"}})
    );

    let status = encode_status(Encoding::Protobuf, code::INVALID_ARGUMENT, "bad body");
    assert_eq!(
        proto::RpcStatus::decode(&status[..]).unwrap(),
        proto::RpcStatus {
            code: 3,
            message: "bad body".into()
        }
    );
    let json: Value =
        serde_json::from_slice(&encode_status(Encoding::Json, 3, "bad body")).unwrap();
    assert_eq!(json, json!({"code": 3, "message": "bad body"}));
}

#[test]
fn content_types() {
    assert_eq!(
        Encoding::from_content_type("application/x-protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("application/protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("Application/JSON; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(Encoding::from_content_type("text/plain"), None);
    assert_eq!(Encoding::from_content_type(""), None);
    assert_eq!(Encoding::Json.content_type(), "application/json");
}

// --- traces ---------------------------------------------------------------------------------

#[test]
fn summaries_add_up_per_trace() {
    let mut req = agent_trace();
    let mut other = span(
        9,
        None,
        "other trace",
        vec![kv("gen_ai.usage.input_tokens", i(5))],
    );
    other.trace_id = vec![1; 16];
    other.status = Some(proto::Status {
        message: String::new(),
        code: 2,
    });
    req.resource_spans[0].scope_spans[0].spans.push(other);
    let batch = receive(&req.encode_to_vec(), Encoding::Protobuf, NOW_MS).unwrap();
    let costs = [None, Some(1_500), None, Some(20)];
    let sums = summarize(batch.spans.iter().zip(costs));
    assert_eq!(sums.len(), 2);
    let t = &sums[0];
    assert_eq!(t.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!((t.span_count, t.llm_calls, t.cost_nusd), (3, 1, 1_500));
    assert_eq!(t.tokens.total(), 1300);
    assert_eq!(t.agents.iter().collect::<Vec<_>>(), ["planner"]);
    assert_eq!(t.models.iter().collect::<Vec<_>>(), ["gpt-4o-2024-08-06"]);
    assert!(!t.error);
    assert_eq!(
        t.root,
        Some(("invoke_agent planner".into(), Some("support-bot".into())))
    );
    assert_eq!(t.start_ms, batch.spans[0].start_ms);
    assert_eq!(t.end_ms, batch.spans[2].end_ms);
    let o = &sums[1];
    assert_eq!(
        (o.span_count, o.llm_calls, o.cost_nusd, o.error),
        (1, 1, 20, true)
    );

    // Only the spans actually inserted are summed: a child alone has no root.
    let child_only = summarize([(&batch.spans[2], None)]);
    assert_eq!(child_only[0].root, None);
    assert_eq!(child_only[0].first.0, "execute_tool search");
}

#[test]
fn agents_are_inherited_from_the_nearest_ancestor_only_within_a_trace() {
    let mut spans = receive(&agent_trace().encode_to_vec(), Encoding::Protobuf, NOW_MS)
        .unwrap()
        .spans;
    // A sub-agent under the chat span: its own name wins, and its children inherit it.
    let mut sub = spans[2].clone();
    sub.span_id = "ab00000000000004".into();
    sub.parent_span_id = Some("ab00000000000002".into());
    sub.gen_ai.agent = Some("researcher".into());
    sub.agent = sub.gen_ai.agent.clone();
    let mut leaf = spans[2].clone();
    leaf.span_id = "ab00000000000005".into();
    leaf.parent_span_id = Some("ab00000000000004".into());
    leaf.agent = None;
    // Same span ids in another trace do not inherit across traces.
    let mut stranger = leaf.clone();
    stranger.trace_id = "0".repeat(31) + "1";
    // A parent cycle ends.
    let mut cycle = spans[2].clone();
    cycle.trace_id = "f".repeat(32);
    cycle.span_id = "ab00000000000006".into();
    cycle.parent_span_id = Some("ab00000000000006".into());
    cycle.agent = None;
    spans.extend([sub, leaf, stranger, cycle]);
    inherit_agents(&mut spans);
    let agents: Vec<_> = spans.iter().map(|s| s.agent.as_deref()).collect();
    assert_eq!(
        agents,
        [
            Some("planner"),
            Some("planner"),
            Some("planner"),
            Some("researcher"),
            Some("researcher"),
            None,
            None
        ]
    );
}

// --- agents learnt late ----------------------------------------------------------------------

struct Kept(String, String, Option<String>);

impl super::Stored for Kept {
    fn key(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
    fn parent(&self) -> Option<&str> {
        self.2.as_deref()
    }
    fn start_ms(&self) -> f64 {
        5.0
    }
}

#[test]
fn stored_descendants_without_an_agent_adopt_the_one_of_an_ancestor_that_arrives_later() {
    let agent = span(
        1,
        None,
        "invoke_agent planner",
        vec![kv("gen_ai.agent.name", s("planner"))],
    );
    let batch = normalize(request(vec![agent]), NOW_MS);
    let (trace, root) = (
        batch.spans[0].trace_id.clone(),
        batch.spans[0].span_id.clone(),
    );
    let kept = |t: &str, id: &str, parent: &str| Kept(t.into(), id.into(), Some(parent.into()));
    let orphans = [
        kept(&trace, "c1", &root),
        kept(&trace, "c2", "c1"),
        kept(&trace, "x", "elsewhere"),
        kept("other", "c3", &root),
    ];
    let adopted = super::adopted(&batch.spans, &orphans);
    let named: Vec<(&str, &str)> = adopted.iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(named, [("c1", "planner"), ("c2", "planner")]);
}

#[test]
fn a_token_count_no_call_can_have_refuses_the_span() {
    let most = crate::domain::usage::MAX_TOKENS;
    assert!(normalize_one(span(
        1,
        None,
        "call",
        vec![kv("gen_ai.usage.input_tokens", i(most))]
    ))
    .is_ok());
    for name in [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.completion_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
    ] {
        let refused = normalize_one(span(1, None, "call", vec![kv(name, i(most + 1))]));
        assert_eq!(
            refused.err(),
            Some(crate::domain::usage::TOO_MANY_TOKENS),
            "{name}"
        );
    }
}
