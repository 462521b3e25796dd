//! The HTTP layer: [`handle`] gives every request an id, routes `/api/*` to one handler per
//! route, and turns every error into the JSON envelope. Anything outside `/api/` is the app,
//! served from the static assets.
//!
//! One file per resource: [`auth`], [`team`] (team, members, activity), [`invites`],
//! [`access_tokens`], [`keys`] (the provider-key vault), [`workflows`], [`executions`],
//! [`schedules`], [`notifications`], [`telemetry`] (events and metrics in), [`analytics`]
//! (summaries, trends and exports out), [`tokens`] (usage and cost), [`pricing`], [`budgets`],
//! [`errors`] (error tracking), [`health`]. Shared pieces: [`error`], [`extract`], [`respond`],
//! [`sse`].

pub mod access_tokens;
pub mod analytics;
pub mod auth;
pub mod budgets;
pub mod error;
pub mod errors;
pub mod executions;
pub mod extract;
pub mod health;
pub mod invites;
pub mod keys;
pub mod notifications;
pub mod pricing;
pub mod respond;
pub mod schedules;
pub mod sse;
pub mod team;
pub mod telemetry;
pub mod tokens;
pub mod workflows;

use worker::{Context, Env, Method, Request, Response};

use error::{ApiError, ApiResult};
use extract::Ctx;

/// Entry point for every fetch.
pub async fn handle(req: Request, env: Env, ctx: Context) -> Response {
    let path = req.path();
    if !path.starts_with("/api/") && path != "/api" {
        return serve_asset(req, &env).await;
    }
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .or_else(|| crate::platform::new_id().ok())
        .unwrap_or_default();
    let method = req.method();
    let started = crate::platform::now_ms();
    let debug_headers = env
        .var("DEBUG_HEADERS")
        .is_ok_and(|v| v.to_string() == "true");
    let (result, d1_calls) = match Ctx::new(req, env, ctx, request_id.clone()) {
        Ok(mut cx) => {
            let result = route(&mut cx, &path).await;
            (result, cx.db.calls())
        }
        Err(e) => (Err(e), 0),
    };
    let mut response = result.unwrap_or_else(|e| e.into_response(&request_id));
    let headers = response.headers_mut();
    let _ = headers.set("x-request-id", &request_id);
    if headers.get("cache-control").ok().flatten().is_none() {
        let _ = headers.set("cache-control", "no-store");
    }
    // For the bench and the soak: what this request cost in D1 round trips, and how big the
    // instance's wasm memory has grown (it never shrinks, so a leak shows as steady growth).
    if debug_headers {
        let _ = headers.set("x-d1-calls", &d1_calls.to_string());
        let _ = headers.set("x-wasm-memory", &wasm_memory_bytes().to_string());
    }
    // The path only: query strings may carry cursors or filters that are nobody's business.
    worker::console_log!(
        "{request_id} {method} {path} {} {}ms d1={d1_calls}",
        response.status_code(),
        crate::platform::now_ms() - started
    );
    response
}

/// The size of this instance's wasm linear memory, in bytes.
fn wasm_memory_bytes() -> u32 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length())
}

async fn serve_asset(req: Request, env: &Env) -> Response {
    let assets = match env.assets("ASSETS") {
        Ok(a) => a,
        Err(_) => return ApiError::NotFound.into_response(""),
    };
    match assets.fetch_request(req).await {
        Ok(r) => r,
        Err(e) => ApiError::Internal(format!("assets: {e}")).into_response(""),
    }
}

/// Dispatches on the path's segments, then the method; a known path with another method is 405.
async fn route(cx: &mut Ctx, path: &str) -> ApiResult<Response> {
    use Method::{Delete, Get, Patch, Post, Put};
    let segments: Vec<&str> = path
        .trim_start_matches("/api")
        .trim_matches('/')
        .split('/')
        .collect();
    let m = cx.method();
    match (segments.as_slice(), m) {
        (["health"], Get) => health::get(cx).await,

        (["auth", "signup"], Post) => auth::signup(cx).await,
        (["auth", "login"], Post) => auth::login(cx).await,
        (["auth", "logout"], Post) => auth::logout(cx).await,
        (["auth", "me"], Get) => auth::me(cx).await,
        (["auth", "accept-invite"], Post) => invites::accept(cx).await,

        (["team"], Get) => team::get(cx).await,
        (["team"], Patch) => team::update(cx).await,
        (["team", "members"], Get) => team::list_members(cx).await,
        (["team", "members", id], Patch) => team::change_role(cx, id).await,
        (["team", "members", id], Delete) => team::remove_member(cx, id).await,
        (["team", "invites"], Get) => invites::list(cx).await,
        (["team", "invites"], Post) => invites::create(cx).await,
        (["team", "invites", id], Delete) => invites::revoke(cx, id).await,
        (["team", "activity"], Get) => team::activity(cx).await,

        (["keys"], Get) => keys::list(cx).await,
        (["keys"], Post) => keys::create(cx).await,
        (["keys", id], Get) => keys::get(cx, id).await,
        (["keys", id], Delete) => keys::delete(cx, id).await,
        (["keys", id, "rotate"], Post) => keys::rotate(cx, id).await,
        (["keys", id, "test"], Post) => keys::test(cx, id).await,
        (["keys", id, "usage"], Get) => tokens::key_usage(cx, id).await,

        (["tokens", "usage"], Get) => tokens::usage(cx).await,
        (["tokens", "breakdown"], Get) => tokens::breakdown(cx).await,
        (["tokens", "export.csv"], Get) => tokens::export_csv(cx).await,
        (["pricing"], Get) => pricing::get(cx).await,
        (["pricing"], Put) => pricing::put(cx).await,
        (["budgets"], Get) => budgets::get(cx).await,
        (["budgets"], Put) => budgets::put(cx).await,

        (["errors"], Get) => errors::list(cx).await,
        (["errors"], Post) => errors::create(cx).await,
        (["errors", "stats"], Get) => errors::stats(cx).await,
        (["errors", id], Get) => errors::get(cx, id).await,
        (["errors", id, "resolve"], Post) => errors::resolve(cx, id).await,
        (["errors", id, "reopen"], Post) => errors::reopen(cx, id).await,

        (["workflows"], Get) => workflows::list(cx).await,
        (["workflows"], Post) => workflows::create(cx).await,
        (["workflows", id], Get) => workflows::get(cx, id).await,
        (["workflows", id], Patch) => workflows::update(cx, id).await,
        (["workflows", id], Delete) => workflows::delete(cx, id).await,
        (["workflows", id, "execute"], Post) => workflows::execute(cx, id).await,

        (["executions"], Get) => executions::list(cx).await,
        (["executions", "stream"], Get) => executions::stream(cx).await,
        (["executions", id], Get) => executions::get(cx, id).await,
        (["executions", id, "cancel"], Post) => executions::cancel(cx, id).await,
        (["executions", id, "retry"], Post) => executions::retry(cx, id).await,

        (["schedules"], Get) => schedules::list(cx).await,
        (["schedules"], Post) => schedules::create(cx).await,
        (["schedules", "preview"], Get) => schedules::preview(cx).await,
        (["schedules", id], Get) => schedules::get(cx, id).await,
        (["schedules", id], Patch) => schedules::update(cx, id).await,
        (["schedules", id], Delete) => schedules::delete(cx, id).await,
        (["schedules", id, "runs"], Get) => schedules::runs(cx, id).await,

        (["notifications"], Get) => notifications::list(cx).await,
        (["notifications", "unread-count"], Get) => notifications::unread_count(cx).await,
        (["notifications", "mark-all-read"], Post) => notifications::mark_all_read(cx).await,
        (["notifications", "stream"], Get) => notifications::stream(cx).await,
        (["notifications", "preferences"], Get) => notifications::get_preferences(cx).await,
        (["notifications", "preferences"], Put) => notifications::put_preferences(cx).await,
        (["notifications", id, "read"], Post) => notifications::read(cx, id).await,
        (["notifications", id, "unread"], Post) => notifications::unread(cx, id).await,
        (["notifications", id], Delete) => notifications::hide(cx, id).await,

        (["access-tokens"], Get) => access_tokens::list(cx).await,
        (["access-tokens"], Post) => access_tokens::create(cx).await,
        (["access-tokens", id], Delete) => access_tokens::delete(cx, id).await,

        (["telemetry", "track"], Post) => telemetry::track(cx).await,
        (["telemetry", "batch"], Post) => telemetry::batch(cx).await,
        (["telemetry", "metrics"], Post) => telemetry::record_metric(cx).await,
        (["telemetry", "metrics", component], Get) => telemetry::list_metrics(cx, component).await,

        (["analytics", "summary"], Get) => analytics::summary(cx).await,
        (["analytics", "components"], Get) => analytics::components(cx).await,
        (["analytics", "trends"], Get) => analytics::trends(cx).await,
        (["analytics", "export.csv"], Get) => analytics::export_csv(cx).await,

        (segments, _) if path_exists(segments) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound),
    }
}

/// Whether some method serves this path (so a miss is 405, not 404).
fn path_exists(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["health"]
            | [
                "auth",
                "signup" | "login" | "logout" | "me" | "accept-invite"
            ]
            | ["team"]
            | ["team", "members" | "invites" | "activity"]
            | ["team", "members" | "invites", _]
            | ["keys"]
            | ["keys", _]
            | ["keys", _, "rotate" | "test" | "usage"]
            | ["tokens", "usage" | "breakdown" | "export.csv"]
            | ["pricing"]
            | ["budgets"]
            | ["errors"]
            | ["errors", _]
            | ["errors", _, "resolve" | "reopen"]
            | ["workflows"]
            | ["workflows", _]
            | ["workflows", _, "execute"]
            | ["executions"]
            | ["executions", _]
            | ["executions", _, "cancel" | "retry"]
            | ["schedules"]
            | ["schedules", _]
            | ["schedules", _, "runs"]
            | ["notifications"]
            | ["notifications", _]
            | ["notifications", _, "read" | "unread"]
            | ["access-tokens"]
            | ["access-tokens", _]
            | ["telemetry", "track" | "batch" | "metrics"]
            | ["telemetry", "metrics", _]
            | [
                "analytics",
                "summary" | "components" | "trends" | "export.csv"
            ]
    )
}
