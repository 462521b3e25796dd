//! Beacon's own executions as traces: an execution's trace id is its UUID's 32 hex digits (fixed
//! when it is created), its root span's and each step's span ids are derived from the ids (so a
//! step run again after a crash writes the same span, which the store keeps once), and an `http`
//! step tells the service it calls where it is with a W3C `traceparent`.

use super::genai::GenAi;
use super::span::{Span, SpanKind, SpanStatus};
use crate::domain::usage::Tokens;

/// The `service.name` of the spans Beacon writes for its executions.
pub const SERVICE: &str = "beacon";

/// The execution's trace id: its UUID without dashes, lower case.
pub fn trace_id(execution_id: &str) -> String {
    execution_id
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// 16 hex digits from FNV-1a over `parts` (never all zeros, which OTLP reads as "no span").
fn derived_span_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ u64::from(b'/')).wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:016x}", h.max(1))
}

/// The execution's root span id.
pub fn root_span_id(execution_id: &str) -> String {
    derived_span_id(&[execution_id])
}

/// A step's span id.
pub fn step_span_id(execution_id: &str, step_id: &str) -> String {
    derived_span_id(&[execution_id, step_id])
}

/// The `traceparent` header an `http` step sends: its own span as the caller's parent, sampled.
pub fn traceparent(execution_id: &str, step_id: &str) -> String {
    format!(
        "00-{}-{}-01",
        trace_id(execution_id),
        step_span_id(execution_id, step_id)
    )
}

/// How a span ended: when, and the error if it failed.
pub struct Ended<'a> {
    pub start_ms: i64,
    pub end_ms: i64,
    /// `(kind, message)` of the failure.
    pub error: Option<(&'a str, &'a str)>,
}

/// What an LLM step's span says about its call.
pub struct Call<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    pub tokens: Tokens,
}

fn span(
    trace: String,
    span_id: String,
    parent: Option<String>,
    name: String,
    ended: &Ended,
) -> Span {
    let (start_ms, end_ms) = (
        ended.start_ms as f64,
        ended.end_ms.max(ended.start_ms) as f64,
    );
    let (status, status_message, attributes) = match ended.error {
        Some((kind, message)) => (
            SpanStatus::Error,
            Some(message.to_string()),
            serde_json::json!({ "error.type": kind }).to_string(),
        ),
        None => (SpanStatus::Ok, None, "{}".to_string()),
    };
    Span {
        trace_id: trace,
        span_id,
        parent_span_id: parent,
        name,
        kind: SpanKind::Internal,
        start_ms,
        end_ms,
        duration_ms: end_ms - start_ms,
        status,
        status_message,
        service: Some(SERVICE.to_string()),
        scope: Some("beacon.engine".to_string()),
        session_id: None,
        user_id: None,
        gen_ai: GenAi::default(),
        agent: None,
        tokens: None,
        attributes,
        events: "[]".to_string(),
        input_messages: None,
        output_messages: None,
        errors: Vec::new(),
        truncated: false,
    }
}

/// The execution's root span: from its creation to its end, named for its workflow.
pub fn root(execution_id: &str, workflow_name: &str, ended: &Ended) -> Span {
    span(
        trace_id(execution_id),
        root_span_id(execution_id),
        None,
        format!("run {workflow_name}"),
        ended,
    )
}

/// A step's span under the root; an LLM step's carries its call (tokens, model, provider) and
/// its agent.
pub fn step(
    execution_id: &str,
    step_id: &str,
    agent: Option<&str>,
    call: Option<Call>,
    ended: &Ended,
) -> Span {
    let mut s = span(
        trace_id(execution_id),
        step_span_id(execution_id, step_id),
        Some(root_span_id(execution_id)),
        format!("step {step_id}"),
        ended,
    );
    with_call(&mut s, agent, "chat", call);
    s
}

/// An LLM gateway call's span: in the caller's trace, under its span (`traceparent`), or the
/// root of a trace of its own; named like a GenAI client span (`chat gpt-4o`).
pub fn gateway_call(
    (trace_id, span_id, parent): (String, String, Option<String>),
    agent: Option<&str>,
    (operation, model): (&str, &str),
    call: Option<Call>,
    ended: &Ended,
) -> Span {
    let mut s = span(
        trace_id,
        span_id,
        parent,
        format!("{operation} {model}"),
        ended,
    );
    s.scope = Some("beacon.gateway".to_string());
    s.gen_ai.request_model = Some(model.to_string());
    with_call(&mut s, agent, operation, call);
    s
}

/// A client span's agent and, for an LLM call, what it called and its tokens.
fn with_call(s: &mut Span, agent: Option<&str>, operation: &str, call: Option<Call>) {
    s.kind = SpanKind::Client;
    s.agent = agent.map(str::to_string);
    s.gen_ai.agent = s.agent.clone();
    if let Some(call) = call {
        s.gen_ai.operation = Some(operation.into());
        s.gen_ai.provider = Some(call.provider.to_string());
        s.gen_ai.request_model = Some(call.model.to_string());
        s.tokens = Some(call.tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC: &str = "0190A5B0-1234-7000-8000-00000000ABCD";

    #[test]
    fn the_trace_id_is_the_execution_uuid_in_32_lowercase_hex_digits() {
        assert_eq!(trace_id(EXEC), "0190a5b012347000800000000000abcd");
    }

    #[test]
    fn span_ids_are_stable_distinct_and_16_hex_digits() {
        let root = root_span_id(EXEC);
        let a = step_span_id(EXEC, "a");
        assert_eq!(root.len(), 16);
        assert_eq!(a, step_span_id(EXEC, "a"), "the same step, the same span");
        assert_ne!(a, step_span_id(EXEC, "b"));
        assert_ne!(a, root);
        assert!(root.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn traceparent_names_the_trace_and_the_steps_span_sampled() {
        let header = traceparent(EXEC, "fetch");
        let parts: Vec<&str> = header.split('-').collect();
        assert_eq!(
            parts,
            ["00", &trace_id(EXEC), &step_span_id(EXEC, "fetch"), "01"]
        );
    }

    #[test]
    fn a_failed_llm_step_is_an_error_client_span_with_its_call() {
        let ended = Ended {
            start_ms: 1000,
            end_ms: 1250,
            error: Some(("timeout", "too slow")),
        };
        let call = Call {
            provider: "openai",
            model: "gpt-4o",
            tokens: Tokens {
                input: 5,
                ..Tokens::default()
            },
        };
        let s = step(EXEC, "draft", Some("writer"), Some(call), &ended);
        assert_eq!(s.parent_span_id, Some(root_span_id(EXEC)));
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(s.status_message.as_deref(), Some("too slow"));
        assert_eq!(s.duration_ms, 250.0);
        assert_eq!(s.agent.as_deref(), Some("writer"));
        assert_eq!(s.gen_ai.model(), Some("gpt-4o"));
        assert!(s.is_llm_call());
        let r = root(
            EXEC,
            "Nightly",
            &Ended {
                start_ms: 900,
                end_ms: 800,
                error: None,
            },
        );
        assert_eq!(r.duration_ms, 0.0, "an end before the start is the start");
        assert_eq!(r.name, "run Nightly");
    }
}
