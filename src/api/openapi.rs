//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, without auth. The file is
//! `docs/openapi.json`, kept by hand, minified by `build.rs` and embedded; the unit tests in
//! `routes` hold it to the route table.

use worker::{Headers, Response, ResponseBuilder};

/// `docs/openapi.json` without its whitespace (see `build.rs`).
const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

/// GET /api/openapi.json
pub fn get() -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    // The document changes only with a deploy; an hour of caching spares repeat fetches.
    let _ = headers.set("cache-control", "public, max-age=3600");
    ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(DOCUMENT.as_bytes().to_vec())
}
