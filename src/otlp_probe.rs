//! TEMPORARY, for measuring the wasm size only: links `domain::otlp` into the Worker the way the
//! receiver will use it (decode, normalise, every span field read as the store would bind it,
//! per-trace sums, both answers). No auth, no storage: must not be merged.

use serde_json::json;
use worker::{Request, Response};

use crate::domain::otlp::{self, Encoding};

pub async fn handle(mut req: Request) -> Response {
    let header = |name: &str| req.headers().get(name).ok().flatten().unwrap_or_default();
    let Some(encoding) = Encoding::from_content_type(&header("content-type")) else {
        return Response::empty()
            .map(|r| r.with_status(415))
            .unwrap_or_else(|_| fallback());
    };
    let gzip = header("content-encoding").eq_ignore_ascii_case("gzip");
    let body = req.bytes().await.unwrap_or_default();
    let (status, bytes) = match otlp::receive(&body, encoding, gzip) {
        Ok(batch) => {
            let rows: Vec<_> = batch
                .spans
                .iter()
                .map(|s| {
                    let t = s.tokens.unwrap_or_default();
                    json!([
                        s.trace_id,
                        s.span_id,
                        s.parent_span_id,
                        s.name,
                        s.kind.as_str(),
                        s.start_ms,
                        s.duration_ms,
                        s.status.as_str(),
                        s.status_message,
                        s.service,
                        s.scope,
                        s.session_id,
                        s.user_id,
                        s.gen_ai.operation,
                        s.gen_ai.provider,
                        s.gen_ai.request_model,
                        s.gen_ai.response_model,
                        s.agent,
                        s.gen_ai.tool,
                        s.gen_ai.conversation_id,
                        s.is_llm_call(),
                        t.input,
                        t.cache_read,
                        t.cache_write,
                        t.output,
                        t.reasoning,
                        s.attributes,
                        s.events,
                        s.input_messages,
                        s.output_messages,
                        s.truncated,
                        s.errors
                            .iter()
                            .map(|e| json!([e.kind, e.message, e.stack, e.at_ms]))
                            .collect::<Vec<_>>()
                    ])
                })
                .collect();
            let sums: Vec<_> = otlp::summarize(batch.spans.iter().map(|s| (s, None)))
                .into_iter()
                .map(|t| {
                    json!([
                        t.trace_id,
                        t.span_count,
                        t.llm_calls,
                        t.tokens.total(),
                        t.cost_nusd,
                        t.agents,
                        t.models,
                        t.error,
                        t.start_ms,
                        t.end_ms,
                        t.root,
                        t.first
                    ])
                })
                .collect();
            worker::console_log!("{}", json!([rows, sums]));
            (
                200,
                otlp::encode_response(encoding, batch.partial_success().as_ref()),
            )
        }
        Err(e) => {
            let (status, code) = e.status();
            (status, otlp::encode_status(encoding, code, &e.message()))
        }
    };
    Response::from_bytes(bytes)
        .map(|r| r.with_status(status))
        .unwrap_or_else(|_| fallback())
}

fn fallback() -> Response {
    Response::error("error", 500)
        .unwrap_or_else(|_| Response::empty().unwrap_or_else(|_| unreachable!()))
}
