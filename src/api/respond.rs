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

/// A JSON response whose body is already JSON text (built by SQLite).
pub fn raw_json(status: u16, body: String) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
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

/// A CSV download.
pub fn csv(body: String, filename: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "text/csv; charset=utf-8");
    let _ = headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{filename}\""),
    );
    ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(body.into_bytes())
}
