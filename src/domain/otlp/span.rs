//! One OTLP span made into what the store writes ([`Span`]), or refused with a reason.
//!
//! Ids become lowercase hex; a trace id that is not 16 bytes, a span id that is not 8, or either
//! all zeros, refuses the span (an all-zero or empty parent id means "no parent"). Times become
//! epoch milliseconds as `f64`, which keeps sub-millisecond precision (about a quarter of a
//! microsecond at today's epoch). Attributes, events and messages are cut to the limits in
//! [`super::values`], and the span says `truncated`.

use serde_json::{Map, Number, Value};

use super::genai::{GenAi, Reader};
use super::proto::{self, Event, KeyValue};
use super::values::{cut, Attributes, MAX_EVENTS, MAX_NAME_BYTES, MAX_VALUE_BYTES};
use crate::domain::errors::{derive_severity, Severity};
use crate::domain::telemetry::MAX_FUTURE_MS;
use crate::domain::usage::{Tokens, TOO_MANY_TOKENS};

/// Why a span starting past the server's clock by more than [`MAX_FUTURE_MS`] is refused.
pub const FUTURE_START: &str = "a start time more than 10 minutes in the future";

/// `SpanKind`, as the word the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    fn from_wire(kind: i32) -> SpanKind {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// `StatusCode`, as the word the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    Unset,
    Ok,
    Error,
}

impl SpanStatus {
    fn from_wire(code: i32) -> SpanStatus {
        match code {
            1 => SpanStatus::Ok,
            2 => SpanStatus::Error,
            _ => SpanStatus::Unset,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }
}

/// An error the span reports, for an error occurrence: one per `exception` event, or one for the
/// span's ERROR status when it has no exception event.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanError {
    /// `exception.type`, else `error.type`, else `exception` / `span_error`.
    pub kind: String,
    pub message: String,
    /// `exception.stacktrace`.
    pub stack: Option<String>,
    /// When it happened, epoch ms.
    pub at_ms: f64,
    /// The span's `http.response.status_code`, for the severity.
    pub http_status: Option<u16>,
}

impl SpanError {
    /// Derived like every other error's (auth failure critical, timeout or 5xx high, ...).
    pub fn severity(&self) -> Severity {
        derive_severity(&self.kind, self.http_status)
    }
}

/// A span ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    /// Epoch ms with sub-millisecond precision.
    pub start_ms: f64,
    pub end_ms: f64,
    pub duration_ms: f64,
    pub status: SpanStatus,
    pub status_message: Option<String>,
    /// The resource's `service.name`.
    pub service: Option<String>,
    /// The instrumentation scope's name (`openai.agents`, `opentelemetry.instrumentation.openai`).
    pub scope: Option<String>,
    /// `session.id` / `user.id` of the span, else of its resource.
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub gen_ai: GenAi,
    /// The agent the span works for: its own `gen_ai.agent.name`, else (after
    /// [`super::inherit_agents`]) its nearest ancestor's within the same request.
    pub agent: Option<String>,
    /// The token buckets when the span reports usage: such a span is an LLM call.
    pub tokens: Option<Tokens>,
    /// The span's attributes as a JSON object (message attributes are in the messages instead).
    pub attributes: String,
    /// The span's events as a JSON array of `{name, time_ms, attributes}`.
    pub events: String,
    /// The conversation, as JSON arrays of `{role, parts, ...}` messages.
    pub input_messages: Option<String>,
    pub output_messages: Option<String>,
    pub errors: Vec<SpanError>,
    /// Something was cut to fit the limits.
    pub truncated: bool,
}

impl Span {
    /// Whether the span is an LLM call (it reports token usage).
    pub fn is_llm_call(&self) -> bool {
        self.tokens.is_some()
    }

    /// `started_at` as the API's integer epoch ms.
    pub fn started_at(&self) -> i64 {
        self.start_ms.floor() as i64
    }

    /// When the span's LLM call was made, as its usage row says and its price is chosen for:
    /// its start, never later than `now` (a client's clock may run ahead).
    pub fn called_at(&self, now: i64) -> i64 {
        self.started_at().min(now)
    }

    pub fn ended_at(&self) -> i64 {
        self.end_ms.floor() as i64
    }
}

/// What the resource says about all its spans.
#[derive(Debug, Default, Clone)]
pub(super) struct ResourceInfo {
    pub service: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
}

impl ResourceInfo {
    pub fn read(resource: Option<proto::Resource>) -> ResourceInfo {
        let mut info = ResourceInfo::default();
        let mut cut = false;
        for kv in resource.map(|r| r.attributes).unwrap_or_default() {
            let slot = match kv.key.as_str() {
                "service.name" => &mut info.service,
                "session.id" => &mut info.session_id,
                "user.id" => &mut info.user_id,
                _ => continue,
            };
            *slot = super::values::text(&kv.value, &mut cut);
        }
        info
    }
}

/// Makes one OTLP span into a [`Span`], or says why it is refused.
pub(super) fn normalize(
    span: proto::Span,
    resource: &ResourceInfo,
    scope: Option<&str>,
    now_ms: i64,
) -> Result<Span, &'static str> {
    let trace_id = hex_id(&span.trace_id, 16).ok_or("invalid trace id")?;
    let span_id = hex_id(&span.span_id, 8).ok_or("invalid span id")?;
    let parent_span_id = match span.parent_span_id.len() {
        0 => None,
        _ if span.parent_span_id.iter().all(|&b| b == 0) => None,
        _ => Some(hex_id(&span.parent_span_id, 8).ok_or("invalid parent span id")?),
    };
    if span.start_time_unix_nano == 0 {
        return Err("missing start time");
    }
    if nanos_to_ms(span.start_time_unix_nano) > (now_ms + MAX_FUTURE_MS) as f64 {
        return Err(FUTURE_START);
    }
    let end_nanos = span.end_time_unix_nano.max(span.start_time_unix_nano);

    let mut truncated = false;
    let mut name = span.name;
    truncated |= cut(&mut name, MAX_NAME_BYTES);
    let status = span.status.unwrap_or_default();
    let mut status_message = Some(status.message).filter(|m| !m.is_empty());
    if let Some(m) = status_message.as_mut() {
        truncated |= cut(m, MAX_VALUE_BYTES);
    }
    let status = SpanStatus::from_wire(status.code);

    let mut reader = Reader::default();
    let mut attributes = Attributes::default();
    for kv in span.attributes {
        if let Some(kv) = reader.attribute(kv) {
            attributes.push(kv);
        }
    }
    // Usage comes from attributes only: a count no call can have refuses the span before its
    // events and messages are read.
    if reader.usage_implausible() {
        return Err(TOO_MANY_TOKENS);
    }

    let mut errors = Vec::new();
    let mut events = Vec::new();
    let mut events_cut = false;
    for event in span.events {
        let Some(event) = reader.event(event) else {
            continue;
        };
        if events.len() >= MAX_EVENTS {
            events_cut = true;
            continue;
        }
        let (json, error) = event_json(event);
        errors.extend(error);
        events.push(json.0);
        events_cut |= json.1;
    }
    let start_ms = nanos_to_ms(span.start_time_unix_nano);
    if status == SpanStatus::Error && errors.is_empty() {
        errors.push(SpanError {
            kind: reader
                .error_type
                .clone()
                .unwrap_or_else(|| "span_error".into()),
            message: status_message
                .clone()
                .unwrap_or_else(|| format!("{name} failed")),
            stack: None,
            at_ms: nanos_to_ms(end_nanos),
            http_status: None,
        });
    }
    for error in &mut errors {
        error.http_status = reader.http_status;
    }

    let (input_messages, output_messages, messages_cut) = reader.messages();
    truncated |= attributes.truncated || events_cut || messages_cut || reader.truncated;
    let agent = reader.gen_ai.agent.clone();
    let tokens = reader.usage_tokens();
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind: SpanKind::from_wire(span.kind),
        start_ms,
        end_ms: nanos_to_ms(end_nanos),
        duration_ms: nanos_to_ms(end_nanos - span.start_time_unix_nano),
        status,
        status_message,
        service: resource.service.clone(),
        scope: scope.map(str::to_string),
        session_id: reader.session_id.or_else(|| resource.session_id.clone()),
        user_id: reader.user_id.or_else(|| resource.user_id.clone()),
        tokens,
        gen_ai: reader.gen_ai,
        agent,
        attributes: Value::Object(attributes.members).to_string(),
        events: Value::Array(events).to_string(),
        input_messages,
        output_messages,
        errors,
        truncated,
    })
}

/// An event as `{name, time_ms, attributes}` (and whether it was cut), and the error it reports
/// if it is an `exception` event.
fn event_json(event: Event) -> ((Value, bool), Option<SpanError>) {
    let at_ms = nanos_to_ms(event.time_unix_nano);
    let mut name = event.name;
    let mut cut_any = cut(&mut name, MAX_NAME_BYTES);
    let error = (name == "exception").then(|| exception(&event.attributes, at_ms));
    let attributes = Attributes::collect(event.attributes);
    cut_any |= attributes.truncated;
    let mut json = Map::new();
    json.insert("name".into(), Value::String(name));
    json.insert(
        "time_ms".into(),
        Number::from_f64(at_ms).map_or(Value::Null, Value::Number),
    );
    json.insert("attributes".into(), Value::Object(attributes.members));
    ((Value::Object(json), cut_any), error)
}

fn exception(attributes: &[KeyValue], at_ms: f64) -> SpanError {
    let mut cut_any = false;
    let mut field = |key: &str| {
        let kv = attributes.iter().find(|kv| kv.key == key)?;
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(proto::Value::String(s)) if !s.is_empty() => {
                let mut s = s.clone();
                cut_any |= cut(&mut s, MAX_VALUE_BYTES);
                Some(s)
            }
            _ => None,
        }
    };
    let kind = field("exception.type");
    let message = field("exception.message");
    let stack = field("exception.stacktrace");
    SpanError {
        message: message
            .or_else(|| kind.clone())
            .unwrap_or_else(|| "exception".into()),
        kind: kind.unwrap_or_else(|| "exception".into()),
        stack,
        at_ms,
        http_status: None,
    }
}

/// Lowercase hex of an id of `len` bytes that is not all zeros.
fn hex_id(bytes: &[u8], len: usize) -> Option<String> {
    if bytes.len() != len || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(len * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    Some(out)
}

/// Unix nanoseconds as epoch ms, split so the integer part stays exact.
pub(super) fn nanos_to_ms(nanos: u64) -> f64 {
    (nanos / 1_000_000) as f64 + (nanos % 1_000_000) as f64 / 1e6
}
