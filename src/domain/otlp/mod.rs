//! The OTLP/HTTP trace receiver, less HTTP and storage: a request body in, spans ready to store
//! and the answer's bytes out.
//!
//! - [`proto`]: the protobuf messages read and written (hand-written prost structs, only the
//!   fields Beacon uses).
//! - [`json`]: OTLP/JSON into the same messages.
//! - [`span`]: one OTLP span into a [`Span`] (ids, times, status, bounded attributes and events,
//!   the errors it reports), or a refusal.
//! - [`genai`]: the GenAI semantic conventions: call fields, token buckets, messages.
//! - [`values`]: attribute values as JSON, and the per-span limits.
//! - [`run`]: Beacon's own executions as traces (ids, `traceparent`, the engine's spans).
//! - [`traces`]: per-trace sums of a request's spans, and agents inherited from ancestors.
//!
//! The receiver calls [`Encoding::from_content_type`], then [`receive`], stores
//! [`Batch::spans`], and answers [`encode_response`] with [`Batch::partial_success`] (or
//! [`encode_status`] when [`receive`] fails).

pub mod genai;
pub mod json;
pub mod proto;
pub mod run;
pub mod span;
pub mod traces;
pub mod values;

use prost::Message;
use serde_json::json;

pub use genai::GenAi;
pub use span::{Span, SpanError, SpanKind, SpanStatus};
pub use traces::{adopted, inherit_agents, inherit_stored, summarize, Stored, TraceSummary};

/// Bytes a request may hold after decompression (10 MiB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// `google.rpc.Code` values the receiver answers with.
pub mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The request's encoding, which is also the answer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` (parameters such as `charset` ignored); `None` is a 415.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf")
            || essence.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The answer's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// A body that cannot be read as an `ExportTraceServiceRequest`; the text is for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a request was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveError {
    /// More than [`MAX_BODY_BYTES`] after decompression: 413.
    TooLarge,
    /// Not gzip, not protobuf, not OTLP/JSON: 400 with a `google.rpc.Status`.
    Malformed(String),
}

impl ReceiveError {
    /// The HTTP status and the `google.rpc.Code` the answer carries.
    pub fn status(&self) -> (u16, i32) {
        match self {
            ReceiveError::TooLarge => (413, code::RESOURCE_EXHAUSTED),
            ReceiveError::Malformed(_) => (400, code::INVALID_ARGUMENT),
        }
    }

    pub fn message(&self) -> String {
        match self {
            ReceiveError::TooLarge => format!(
                "the request is larger than {} MiB after decompression",
                MAX_BODY_BYTES >> 20
            ),
            ReceiveError::Malformed(m) => m.clone(),
        }
    }
}

/// The `partial_success` of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialSuccess {
    pub rejected_spans: i64,
    pub error_message: String,
}

/// A request's spans, ready to store, and what was refused or cut.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub spans: Vec<Span>,
    /// Spans refused (bad ids, no start time or one in the future, impossible usage).
    pub rejected: usize,
    /// The first refusal's reason.
    pub first_rejection: Option<String>,
}

impl Batch {
    /// The answer's `partial_success`: refused spans with the first reason; or, when everything
    /// was stored but some spans were cut to the limits, a warning with `rejected_spans: 0` (as
    /// the OTLP specification allows).
    pub fn partial_success(&self) -> Option<PartialSuccess> {
        if self.rejected > 0 {
            let reason = self.first_rejection.as_deref().unwrap_or("invalid span");
            return Some(PartialSuccess {
                rejected_spans: i64::try_from(self.rejected).unwrap_or(i64::MAX),
                error_message: format!("{} span(s) rejected; the first: {reason}", self.rejected),
            });
        }
        let cut = self.spans.iter().filter(|s| s.truncated).count();
        (cut > 0).then(|| PartialSuccess {
            rejected_spans: 0,
            error_message: format!(
                "{cut} span(s) stored with values cut to the limits (256 attributes, 16 KiB per \
                 value, 64 KiB of messages, 128 events)"
            ),
        })
    }
}

/// Decodes a request body (already inflated when it came gzipped: the Worker inflates it
/// through the runtime's `DecompressionStream` under [`MAX_BODY_BYTES`]), and normalises each
/// span against the server's clock `now_ms`. An empty body is an empty request.
pub fn receive(body: &[u8], encoding: Encoding, now_ms: i64) -> Result<Batch, ReceiveError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ReceiveError::TooLarge);
    }
    let request = decode(body, encoding).map_err(|e| ReceiveError::Malformed(e.0))?;
    Ok(normalize(request, now_ms))
}

/// Reads a (decompressed) body as an `ExportTraceServiceRequest`.
pub fn decode(
    body: &[u8],
    encoding: Encoding,
) -> Result<proto::ExportTraceServiceRequest, DecodeError> {
    if body.is_empty() {
        return Ok(proto::ExportTraceServiceRequest::default());
    }
    match encoding {
        Encoding::Protobuf => proto::decode(body).map_err(|e| {
            DecodeError(format!(
                "the body is not a protobuf ExportTraceServiceRequest: {e}"
            ))
        }),
        Encoding::Json => json::decode(body),
    }
}

/// Normalises every span of a request; refused ones are counted with the first reason. A span
/// starting past `now_ms` by more than a client's clock skew is refused: it would head the
/// trace list and outlive retention (which counts from a span's start) for years.
pub fn normalize(request: proto::ExportTraceServiceRequest, now_ms: i64) -> Batch {
    let mut batch = Batch::default();
    for resource_spans in request.resource_spans {
        let resource = span::ResourceInfo::read(resource_spans.resource);
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.map(|s| s.name).filter(|n| !n.is_empty());
            for raw in scope_spans.spans {
                match span::normalize(raw, &resource, scope.as_deref(), now_ms) {
                    Ok(s) => batch.spans.push(s),
                    Err(reason) => {
                        batch.rejected += 1;
                        batch
                            .first_rejection
                            .get_or_insert_with(|| reason.to_string());
                    }
                }
            }
        }
    }
    inherit_agents(&mut batch.spans);
    batch
}

/// The `ExportTraceServiceResponse` body in `encoding`.
pub fn encode_response(encoding: Encoding, partial: Option<&PartialSuccess>) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => proto::ExportTraceServiceResponse {
            partial_success: partial.map(|p| proto::ExportTracePartialSuccess {
                rejected_spans: p.rejected_spans,
                error_message: p.error_message.clone(),
            }),
        }
        .encode_to_vec(),
        // proto3 JSON writes int64 as a decimal string.
        Encoding::Json => match partial {
            None => b"{}".to_vec(),
            Some(p) => json!({"partialSuccess": {
                "rejectedSpans": p.rejected_spans.to_string(),
                "errorMessage": p.error_message,
            }})
            .to_string()
            .into_bytes(),
        },
    }
}

/// A `google.rpc.Status` body in `encoding` (for 4xx answers).
pub fn encode_status(encoding: Encoding, code: i32, message: &str) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => proto::RpcStatus {
            code,
            message: message.to_string(),
        }
        .encode_to_vec(),
        Encoding::Json => json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests;
