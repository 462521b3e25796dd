//! Building responses without a fallible step, so a handler's success can't turn into a panic.

use serde::Serialize;
use worker::{Headers, Response, ResponseBuilder};

/// A JSON response with the given status.
pub fn json(status: u16, body: &impl Serialize) -> Response {
    // Serialising our own response types cannot fail (no non-string map keys).
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(bytes)
}

pub fn ok(body: &impl Serialize) -> Response {
    json(200, body)
}

pub fn created(body: &impl Serialize) -> Response {
    json(201, body)
}

pub fn no_content() -> Response {
    ResponseBuilder::new().with_status(204).empty()
}

/// A list page: `{"data": [...], "next_cursor": ... }`.
pub fn page<T: Serialize>(data: &[T], next_cursor: Option<String>) -> Response {
    ok(&serde_json::json!({"data": data, "next_cursor": next_cursor}))
}
