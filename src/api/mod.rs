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

use worker::{Context, Env, Request, Response};

use crate::domain::gateway::Api;
use crate::routes::{resolve, Resolved, Route};
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
    let (result, d1_calls, rows_written) = match Ctx::new(req, env, ctx, request_id.clone()) {
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

/// Finds the path's operation in [`crate::routes::ROUTES`] (a known path with another method is
/// 405), then hands it to its handler; `id` is the path's `{id}` (or `{component}`) segment.
async fn route(cx: &mut Ctx, path: &str) -> ApiResult<Response> {
    let (operation, id) = match resolve(cx.method().as_ref(), path) {
        Resolved::Found(operation, id) => (operation, id),
        Resolved::MethodNotAllowed => return Err(ApiError::MethodNotAllowed),
        Resolved::NotFound => return Err(ApiError::NotFound),
    };
    match operation {
        Route::Health => health::get(cx).await,
        Route::OpenApi => openapi::get(&cx.env).await,

        Route::AuthSignup => auth::signup(cx).await,
        Route::AuthLogin => auth::login(cx).await,
        Route::AuthLogout => auth::logout(cx).await,
        Route::AuthMe => auth::me(cx).await,
        Route::AcceptInvite => invites::accept(cx).await,

        Route::TeamGet => team::get(cx).await,
        Route::TeamUpdate => team::update(cx).await,
        Route::MembersList => team::list_members(cx).await,
        Route::MemberChangeRole => team::change_role(cx, id).await,
        Route::MemberRemove => team::remove_member(cx, id).await,
        Route::InvitesList => invites::list(cx).await,
        Route::InviteCreate => invites::create(cx).await,
        Route::InviteRevoke => invites::revoke(cx, id).await,
        Route::TeamActivity => team::activity(cx).await,

        Route::KeysList => keys::list(cx).await,
        Route::KeyCreate => keys::create(cx).await,
        Route::KeyGet => keys::get(cx, id).await,
        Route::KeyDelete => keys::delete(cx, id).await,
        Route::KeyRotate => keys::rotate(cx, id).await,
        Route::KeyTest => keys::test(cx, id).await,
        Route::KeyUsage => tokens::key_usage(cx, id).await,

        Route::TokensUsage => tokens::usage(cx).await,
        Route::TokensBreakdown => tokens::breakdown(cx).await,
        Route::TokensExportCsv => tokens::export_csv(cx).await,
        Route::PricingGet => pricing::get(cx).await,
        Route::PricingPut => pricing::put(cx).await,
        Route::BudgetsGet => budgets::get(cx).await,
        Route::BudgetsPut => budgets::put(cx).await,

        Route::ErrorsList => errors::list(cx).await,
        Route::ErrorCreate => errors::create(cx).await,
        Route::ErrorsStats => errors::stats(cx).await,
        Route::ErrorGet => errors::get(cx, id).await,
        Route::ErrorResolve => errors::resolve(cx, id).await,
        Route::ErrorReopen => errors::reopen(cx, id).await,

        Route::WorkflowsList => workflows::list(cx).await,
        Route::WorkflowCreate => workflows::create(cx).await,
        Route::WorkflowGet => workflows::get(cx, id).await,
        Route::WorkflowUpdate => workflows::update(cx, id).await,
        Route::WorkflowDelete => workflows::delete(cx, id).await,
        Route::WorkflowExecute => workflows::execute(cx, id).await,

        Route::ExecutionsList => executions::list(cx).await,
        Route::ExecutionsStream => executions::stream(cx).await,
        Route::ExecutionGet => executions::get(cx, id).await,
        Route::ExecutionCancel => executions::cancel(cx, id).await,
        Route::ExecutionRetry => executions::retry(cx, id).await,

        Route::SchedulesList => schedules::list(cx).await,
        Route::ScheduleCreate => schedules::create(cx).await,
        Route::SchedulesPreview => schedules::preview(cx).await,
        Route::ScheduleGet => schedules::get(cx, id).await,
        Route::ScheduleUpdate => schedules::update(cx, id).await,
        Route::ScheduleDelete => schedules::delete(cx, id).await,
        Route::ScheduleRuns => schedules::runs(cx, id).await,

        Route::NotificationsList => notifications::list(cx).await,
        Route::NotificationsUnreadCount => notifications::unread_count(cx).await,
        Route::NotificationsMarkAllRead => notifications::mark_all_read(cx).await,
        Route::NotificationsStream => notifications::stream(cx).await,
        Route::PreferencesGet => notifications::get_preferences(cx).await,
        Route::PreferencesPut => notifications::put_preferences(cx).await,
        Route::NotificationRead => notifications::read(cx, id).await,
        Route::NotificationUnread => notifications::unread(cx, id).await,
        Route::NotificationHide => notifications::hide(cx, id).await,

        Route::AccessTokensList => access_tokens::list(cx).await,
        Route::AccessTokenCreate => access_tokens::create(cx).await,
        Route::AccessTokenDelete => access_tokens::delete(cx, id).await,

        Route::TelemetryTrack => telemetry::track(cx).await,
        Route::TelemetryBatch => telemetry::batch(cx).await,
        Route::TelemetryMetric => telemetry::record_metric(cx).await,
        Route::TelemetryMetricsList => telemetry::list_metrics(cx, id).await,

        Route::AnalyticsSummary => analytics::summary(cx).await,
        Route::AnalyticsComponents => analytics::components(cx).await,
        Route::AnalyticsTrends => analytics::trends(cx).await,
        Route::AnalyticsExportCsv => analytics::export_csv(cx).await,

        Route::OtlpTraces => traces::receive(cx).await,
        Route::TracesList => traces::list(cx).await,
        Route::TraceGet => traces::get(cx, id).await,

        Route::GatewayOpenAiChat => gateway::pass(cx, Api::Chat).await,
        Route::GatewayOpenAiEmbeddings => gateway::pass(cx, Api::Embeddings).await,
        Route::GatewayAnthropicMessages => gateway::pass(cx, Api::Messages).await,
    }
}
