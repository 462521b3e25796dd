//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every route, without auth. The file is
//! `docs/openapi.json`, kept by hand; the app's build (`frontend/vite.config.ts`) minifies it
//! into the static assets, where this route reads it, so the document costs the Worker's wasm
//! nothing. The unit tests in `routes` hold it to the route table.

use worker::{Env, Headers, Response, ResponseBuilder};

use super::error::{ApiError, ApiResult};

/// GET /api/openapi.json
pub async fn get(env: &Env) -> ApiResult<Response> {
    let assets = env.assets("ASSETS")?;
    // A plain web-sys request: `Fetcher::fetch` takes the worker crate's RequestInit, whose `cf`
    // options go through serde and cost the wasm about 7 KB that nothing else needs.
    let request = web_sys::Request::new_with_str("https://assets.invalid/openapi.json")
        .map_err(|_| ApiError::Internal("openapi.json: request".into()))?;
    let mut found = assets.fetch_request(worker::Request::from(request)).await?;
    let content_type = found.headers().get("content-type")?.unwrap_or_default();
    // A missing asset is answered with the app's index.html (single-page-application handling).
    if found.status_code() != 200 || !content_type.contains("json") {
        return Err(ApiError::Internal(
            "openapi.json is missing from the static assets: build the app (make frontend)".into(),
        ));
    }
    let bytes = found.bytes().await?;
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    // The document changes only with a deploy; an hour of caching spares repeat fetches.
    let _ = headers.set("cache-control", "public, max-age=3600");
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(bytes))
}
