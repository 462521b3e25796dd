//! The HTTP layer: [`handle`] gives every request an id, routes `/api/*` to one handler per
//! route, and turns every error into the JSON envelope. Anything outside `/api/` is the app,
//! served from the static assets. Which handler serves a method and path is decided by the route
//! table in [`crate::routes`], the same table the OpenAPI document is tested against.
//!
//! One file per resource: [`auth`], [`team`] (team, members, activity), [`invites`],
//! [`access_tokens`], [`keys`] (the provider-key vault), [`workflows`], [`executions`],
//! [`schedules`], [`notifications`], [`telemetry`] (events and metrics in), [`analytics`]
//! (summaries, trends and exports out), [`tokens`] (usage and cost), [`pricing`], [`budgets`],
//! [`errors`] (error tracking), [`traces`] (the OTLP receiver and the trace explorer), [`gateway`] (provider calls passed through, priced and held to the budget), [`health`], [`openapi`] (the document describing the API).
//! Shared pieces: [`error`] (the envelope), [`extract`] (the caller, the one `authorize`, bodies,
//! queries), [`respond`], [`sse`] (live streams), [`quota`] (per-team quotas), [`audit`] (a change with its activity entry,
//! team notes), [`session`] (signing a person in). Resource files import only these, never
//! each other.

pub mod access_tokens;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod budgets;
pub mod error;
pub mod errors;
pub mod executions;
pub mod extract;
pub mod gateway;
pub mod health;
pub mod invites;
pub mod keys;
pub mod lifecycle;
pub mod notifications;
pub mod openapi;
pub mod pricing;
pub mod quota;
pub mod respond;
pub mod schedules;
pub mod session;
pub mod sse;
pub mod team;
pub mod telemetry;
pub mod tokens;
pub mod traces;
pub mod workflows;

use std::{future::Future, pin::Pin};

use worker::{Context, Env, Response};

use crate::domain::gateway::Api;
use crate::routes::{resolve, Resolved, Route};
use error::{ApiError, ApiResult};
use extract::Ctx;

/// Entry point for every fetch.
pub async fn handle(req: web_sys::Request, env: Env, ctx: Context) -> Response {
    let url = req.url();
    let path = crate::routes::path_of(&url).to_string();
    if !path.starts_with("/api/") && path != "/api" {
        return serve_asset(req.into(), &env).await;
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
    let (result, d1_calls, rows_written) = match Ctx::new(req, url, env, ctx, request_id.clone()) {
        Ok(mut cx) => {
            let result = route(&mut cx, &path).await;
            let result = extract::finish(&cx, result).await;
            (result, cx.db.calls(), cx.db.rows_written())
        }
        Err(e) => (Err(e), 0, 0),
    };
    let mut response = result.unwrap_or_else(|e| e.into_response(&request_id));
    let headers = response.headers_mut();
    let _ = headers.set("x-request-id", &request_id);
    if headers.get("cache-control").ok().flatten().is_none() {
        let _ = headers.set("cache-control", "no-store");
    }
    // The app's static files get theirs from frontend/public/_headers.
    for (name, value) in SECURITY_HEADERS {
        let _ = headers.set(name, value);
    }
    // For the bench and the soak: what this request cost in D1 round trips, and how big the
    // instance's wasm memory has grown (it never shrinks, so a leak shows as steady growth).
    if debug_headers {
        let _ = headers.set("x-d1-calls", &d1_calls.to_string());
        let _ = headers.set("x-d1-rows-written", &rows_written.to_string());
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

/// On every API answer: never sniffed into something executable, never framed, no referrer
/// beyond the origin, and nothing it could load.
const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// The size of this instance's wasm linear memory, in bytes.
fn wasm_memory_bytes() -> u32 {
    use wasm_bindgen::JsCast;
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length())
}

async fn serve_asset(req: worker::Request, env: &Env) -> Response {
    let assets = match env.assets("ASSETS") {
        Ok(a) => a,
        Err(_) => return ApiError::NotFound.into_response(""),
    };
    match assets.fetch_request(req).await {
        Ok(r) => r,
        Err(e) => ApiError::Internal(format!("assets: {e}")).into_response(""),
    }
}

/// Finds the path's operation in [`crate::routes::ROUTES`] (a known path with another method is
/// 405), then hands it to its handler; `id` is the path's `{id}` (or `{component}`) segment.
async fn route(cx: &mut Ctx, path: &str) -> ApiResult<Response> {
    let (operation, id) = match resolve(cx.method().as_ref(), path) {
        Resolved::Found(operation, id) => (operation, id),
        Resolved::MethodNotAllowed => return Err(ApiError::MethodNotAllowed),
        Resolved::NotFound => return Err(ApiError::NotFound),
    };
    // Each handler is its own future behind a pointer: polled through one indirect call, so
    // none is inlined into this one (a single function of every handler's code was 300 KB).
    let handler: Handler = match operation {
        Route::Health => boxed(health::get(cx)),
        Route::OpenApi => boxed(openapi::get(&cx.env)),

        Route::AuthSignup => boxed(auth::signup(cx)),
        Route::AuthLogin => boxed(auth::login(cx)),
        Route::AuthLogout => boxed(auth::logout(cx)),
        Route::AuthMe => boxed(auth::me(cx)),
        Route::AcceptInvite => boxed(invites::accept(cx)),

        Route::TeamGet => boxed(team::get(cx)),
        Route::TeamUpdate => boxed(team::update(cx)),
        Route::MembersList => boxed(team::list_members(cx)),
        Route::MemberChangeRole => boxed(team::change_role(cx, id)),
        Route::MemberRemove => boxed(team::remove_member(cx, id)),
        Route::InvitesList => boxed(invites::list(cx)),
        Route::InviteCreate => boxed(invites::create(cx)),
        Route::InviteRevoke => boxed(invites::revoke(cx, id)),
        Route::TeamActivity => boxed(team::activity(cx)),
        Route::RetentionGet => boxed(lifecycle::get(cx)),
        Route::RetentionPut => boxed(lifecycle::put(cx)),
        Route::TeamErase => boxed(lifecycle::erase(cx)),
        Route::TeamStorage => boxed(lifecycle::storage(cx)),

        Route::KeysList => boxed(keys::list(cx)),
        Route::KeyCreate => boxed(keys::create(cx)),
        Route::KeyGet => boxed(keys::get(cx, id)),
        Route::KeyDelete => boxed(keys::delete(cx, id)),
        Route::KeyRotate => boxed(keys::rotate(cx, id)),
        Route::KeyTest => boxed(keys::test(cx, id)),
        Route::KeyUsage => boxed(tokens::key_usage(cx, id)),

        Route::TokensUsage => boxed(tokens::usage(cx)),
        Route::TokensBreakdown => boxed(tokens::breakdown(cx)),
        Route::TokensExportCsv => boxed(tokens::export_csv(cx)),
        Route::PricingGet => boxed(pricing::get(cx)),
        Route::PricingPut => boxed(pricing::put(cx)),
        Route::BudgetsGet => boxed(budgets::get(cx)),
        Route::BudgetsPut => boxed(budgets::put(cx)),

        Route::ErrorsList => boxed(errors::list(cx)),
        Route::ErrorCreate => boxed(errors::create(cx)),
        Route::ErrorsStats => boxed(errors::stats(cx)),
        Route::ErrorGet => boxed(errors::get(cx, id)),
        Route::ErrorResolve => boxed(errors::resolve(cx, id)),
        Route::ErrorReopen => boxed(errors::reopen(cx, id)),

        Route::WorkflowsList => boxed(workflows::list(cx)),
        Route::WorkflowCreate => boxed(workflows::create(cx)),
        Route::WorkflowGet => boxed(workflows::get(cx, id)),
        Route::WorkflowUpdate => boxed(workflows::update(cx, id)),
        Route::WorkflowDelete => boxed(workflows::delete(cx, id)),
        Route::WorkflowExecute => boxed(workflows::execute(cx, id)),

        Route::ExecutionsList => boxed(executions::list(cx)),
        Route::ExecutionsStream => boxed(executions::stream(cx)),
        Route::ExecutionGet => boxed(executions::get(cx, id)),
        Route::ExecutionCancel => boxed(executions::cancel(cx, id)),
        Route::ExecutionRetry => boxed(executions::retry(cx, id)),

        Route::SchedulesList => boxed(schedules::list(cx)),
        Route::ScheduleCreate => boxed(schedules::create(cx)),
        Route::SchedulesPreview => boxed(schedules::preview(cx)),
        Route::ScheduleGet => boxed(schedules::get(cx, id)),
        Route::ScheduleUpdate => boxed(schedules::update(cx, id)),
        Route::ScheduleDelete => boxed(schedules::delete(cx, id)),
        Route::ScheduleRuns => boxed(schedules::runs(cx, id)),

        Route::NotificationsList => boxed(notifications::list(cx)),
        Route::NotificationsUnreadCount => boxed(notifications::unread_count(cx)),
        Route::NotificationsMarkAllRead => boxed(notifications::mark_all_read(cx)),
        Route::NotificationsStream => boxed(notifications::stream(cx)),
        Route::PreferencesGet => boxed(notifications::get_preferences(cx)),
        Route::PreferencesPut => boxed(notifications::put_preferences(cx)),
        Route::NotificationRead => boxed(notifications::read(cx, id)),
        Route::NotificationUnread => boxed(notifications::unread(cx, id)),
        Route::NotificationHide => boxed(notifications::hide(cx, id)),

        Route::AccessTokensList => boxed(access_tokens::list(cx)),
        Route::AccessTokenCreate => boxed(access_tokens::create(cx)),
        Route::AccessTokenDelete => boxed(access_tokens::delete(cx, id)),

        Route::TelemetryTrack => boxed(telemetry::track(cx)),
        Route::TelemetryBatch => boxed(telemetry::batch(cx)),
        Route::TelemetryMetric => boxed(telemetry::record_metric(cx)),
        Route::TelemetryMetricsList => boxed(telemetry::list_metrics(cx, id)),

        Route::AnalyticsSummary => boxed(analytics::summary(cx)),
        Route::AnalyticsComponents => boxed(analytics::components(cx)),
        Route::AnalyticsTrends => boxed(analytics::trends(cx)),
        Route::AnalyticsExportCsv => boxed(analytics::export_csv(cx)),

        Route::OtlpTraces => boxed(traces::receive(cx)),
        Route::TracesList => boxed(traces::list(cx)),
        Route::TraceGet => boxed(traces::get(cx, id)),

        Route::GatewayOpenAiChat => boxed(gateway::pass(cx, Api::Chat)),
        Route::GatewayOpenAiEmbeddings => boxed(gateway::pass(cx, Api::Embeddings)),
        Route::GatewayAnthropicMessages => boxed(gateway::pass(cx, Api::Messages)),
    };
    handler.await
}

type Handler<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + 'a>>;

fn boxed<'a>(handler: impl Future<Output = ApiResult<Response>> + 'a) -> Handler<'a> {
    Box::pin(handler)
}
